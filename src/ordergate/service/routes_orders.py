"""Intents and orders: submit, list, look up, cancel.

The engine is synchronous and thread-safe; every call into it runs on a worker thread
(``run_in_threadpool``) so a slow store or broker never blocks the event loop.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import InvalidIntent
from ordergate.domain.intent import OrderIntent
from ordergate.obs.logging import bind_ids
from ordergate.service.auth import require_read, require_write
from ordergate.service.body import parse_json, read_body
from ordergate.service.context import ctx
from ordergate.service.schemas import (
    BasketOut,
    CancelIn,
    ErrorOut,
    IntentIn,
    ModifyOut,
    OrderDetailOut,
    OrdersPage,
    ReportOut,
)
from ordergate.store.base import OrderQuery
from ordergate.views import detail_view, order_view

router = APIRouter(prefix="/v1", tags=["orders"])
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 409, 413, 422, 503)
}
_ORDER_ID = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
_INTENT_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IntentIn"}}},
}
_MODIFY_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModifyIn"}}},
}
_MODIFY_FIELDS = frozenset({"qty", "limit_price", "stop_price", "idempotency_key"})
_BASKET_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BasketIn"}}},
}
#: the most intents one basket may carry
MAX_BASKET = 500


@router.post(
    "/intents",
    status_code=201,
    dependencies=[Depends(require_write)],
    responses={201: {"model": ReportOut}, **ERROR_RESPONSES},
    openapi_extra={"requestBody": _INTENT_BODY},
    summary="Submit an order intent (idempotent)",
)
async def submit_intent(
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> Response:
    """Run one intent down the submit path.

    The idempotency key comes from the body or the ``Idempotency-Key`` header. A replay
    (same key, same intent) answers like the first time, for the same order, with
    ``replayed: true`` and an ``Idempotent-Replayed: true`` header; the same key with a
    different intent is ``409 E_EXEC_IDEMPOTENCY_CONFLICT``. A gate or broker rejection
    is an outcome (``201``, ``status: REJECTED`` with its code), not an error.
    """
    c = ctx(request)
    raw = await read_body(request, c.max_body_bytes)
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise InvalidIntent("body", "must be a JSON object of intent fields")
    if idempotency_key is not None:
        in_body = data.get("idempotency_key", data.get("key"))
        if in_body is not None and in_body != idempotency_key:
            raise InvalidIntent("idempotency_key", "differs from the Idempotency-Key header")
        if in_body is None:
            data["idempotency_key"] = idempotency_key
    intent = _parse(data)
    bind_ids(idempotency_key=intent.idempotency_key)
    report = await run_in_threadpool(c.engine.submit, intent)
    bind_ids(order_id=report.order_id)
    headers = {"Location": f"/v1/orders/{report.order_id}"}
    body = report.to_dict()
    if intent.algo is not None:  # a parent order: shown with its progress and children
        headers["Location"] = f"/v1/algos/{report.order_id}"
        body["algo"] = report.extra.get("algo")
    if report.replayed:
        headers["Idempotent-Replayed"] = "true"
    # orjson: the hottest route's body in a fraction of the stdlib's time, same JSON
    return Response(
        orjson.dumps(body), status_code=201, headers=headers, media_type="application/json"
    )


@router.post(
    "/baskets",
    status_code=201,
    dependencies=[Depends(require_write)],
    responses={201: {"model": BasketOut}, **ERROR_RESPONSES},
    openapi_extra={"requestBody": _BASKET_BODY},
    summary="Submit several intents as one basket (idempotent per intent)",
)
async def submit_basket(request: Request) -> JSONResponse:
    """Record and gate every intent in one unit of work, send each, record the receipts
    together (``engine.submit_many``). One report per intent, in order; each intent's
    key replays as it would alone. One invalid intent refuses the whole basket (``422``
    naming ``intents[i].field``) before anything is recorded.
    """
    c = ctx(request)
    data = parse_json(await read_body(request, c.max_body_bytes))
    if not isinstance(data, dict) or set(data) != {"intents"}:
        raise InvalidIntent("body", 'must be {"intents": [intent, ...]}')
    items = data["intents"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BASKET:
        raise InvalidIntent("intents", f"must be a list of 1 to {MAX_BASKET} intents")
    intents = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidIntent(f"intents[{index}]", "must be a JSON object of intent fields")
        try:
            intents.append(_parse(item))
        except InvalidIntent as exc:
            raise exc.inside(f"intents[{index}]") from exc
    reports = await run_in_threadpool(c.engine.submit_many, intents)
    return JSONResponse({"reports": [r.to_dict() for r in reports]}, status_code=201)


def _parse(data: dict[str, Any]) -> OrderIntent:
    """Any failure to build the intent from client input is a 422, never a 500."""
    try:
        return OrderIntent.parse(data)
    except InvalidIntent:
        raise
    except (TypeError, ValueError, ArithmeticError, OverflowError) as exc:
        raise InvalidIntent("intent", f"cannot be read: {type(exc).__name__}") from None


@router.get(
    "/orders",
    dependencies=[Depends(require_read)],
    responses={200: {"model": OrdersPage}, **ERROR_RESPONSES},
    summary="List orders, newest first",
)
async def list_orders(
    request: Request,
    status: Annotated[list[str] | None, Query(max_length=16)] = None,
    symbol: Annotated[str | None, Query(max_length=64)] = None,
    strategy_id: Annotated[str | None, Query(max_length=128)] = None,
    account_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JSONResponse:
    wanted = []
    for value in status or ():
        try:
            wanted.append(OrderStatus(value.strip().upper()).value)
        except ValueError:
            choices = ", ".join(s.value for s in OrderStatus)
            raise InvalidIntent("status", f"must be one of {choices}") from None
    query = OrderQuery(
        status=tuple(wanted),
        symbol=symbol.strip().upper() if symbol else None,
        strategy_id=strategy_id or None,
        account_id=account_id or None,
        limit=limit,
        offset=offset,
    )
    rows = await run_in_threadpool(ctx(request).engine.orders, query)
    return JSONResponse(
        {
            "orders": [order_view(o) for o in rows],
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if len(rows) == limit else None,
        }
    )


@router.get(
    "/orders/{order_id}",
    dependencies=[Depends(require_read)],
    responses={200: {"model": OrderDetailOut}, **ERROR_RESPONSES},
    summary="One order with its fills and events",
)
async def get_order(request: Request, order_id: Annotated[str, _ORDER_ID]) -> JSONResponse:
    engine = ctx(request).engine

    def load() -> dict[str, Any]:
        order = engine.order(order_id)
        return detail_view(order, engine.fills(order_id), engine.store.events_for(order_id))

    bind_ids(order_id=order_id)
    return JSONResponse(await run_in_threadpool(load))


@router.post(
    "/orders/{order_id}/cancel",
    dependencies=[Depends(require_write)],
    responses={200: {"model": ReportOut}, **ERROR_RESPONSES},
    summary="Cancel an open order",
)
async def cancel_order(
    request: Request,
    order_id: Annotated[str, _ORDER_ID],
    body: CancelIn | None = None,
) -> JSONResponse:
    bind_ids(order_id=order_id)
    reason = body.reason if body is not None else "user"
    report = await run_in_threadpool(ctx(request).engine.cancel, order_id, reason)
    return JSONResponse(report.to_dict())


@router.post(
    "/orders/{order_id}/modify",
    dependencies=[Depends(require_write)],
    responses={200: {"model": ModifyOut}, **ERROR_RESPONSES},
    openapi_extra={"requestBody": _MODIFY_BODY},
    summary="Modify a working order's quantity or prices (idempotent)",
)
async def modify_order(
    request: Request,
    order_id: Annotated[str, _ORDER_ID],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> JSONResponse:
    """Change the order's total quantity (above what has filled) or its prices, once.

    The key comes from the body or the ``Idempotency-Key`` header: the same key and
    change answer as the first time (``replayed: true``); the same key with another
    change is ``409 E_EXEC_IDEMPOTENCY_CONFLICT``. ``replace.state`` says whether the
    broker has confirmed (``replaced``), refused (``rejected``: the order keeps its
    terms; a fill may have come first) or not yet answered (``pending``: send the
    same request again). A final or busy order is ``409 E_ORDER_NOT_MODIFIABLE``.
    """
    c = ctx(request)
    data = parse_json(await read_body(request, c.max_body_bytes))
    if not isinstance(data, dict) or not set(data) <= _MODIFY_FIELDS:
        allowed = ", ".join(sorted(_MODIFY_FIELDS))
        raise InvalidIntent("body", f"must be a JSON object of {allowed}")
    key = data.get("idempotency_key")
    if key is not None and not isinstance(key, str):
        raise InvalidIntent("idempotency_key", "must be a string")
    if idempotency_key is not None:
        if key is not None and key != idempotency_key:
            raise InvalidIntent("idempotency_key", "differs from the Idempotency-Key header")
        key = idempotency_key
    terms = {name: data.get(name) for name in ("qty", "limit_price", "stop_price")}
    for name, value in terms.items():
        if value is not None and not isinstance(value, str | int | Decimal):
            raise InvalidIntent(name, "must be a decimal number (a string keeps it exact)")
    bind_ids(order_id=order_id, idempotency_key=key)

    def run() -> dict[str, Any]:
        report = c.engine.modify(order_id, key=key, **terms)
        return {**report.to_dict(), "replace": report.extra.get("replace")}

    body = await run_in_threadpool(run)
    headers = {"Idempotent-Replayed": "true"} if body["replayed"] else {}
    return JSONResponse(body, headers=headers)


__all__ = ["IntentIn", "router"]
