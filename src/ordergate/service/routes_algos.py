"""Parent orders (execution algorithms) over HTTP.

A parent is submitted like any intent (``POST /v1/intents`` with an ``algo`` block);
these routes show and steer it:

- ``GET  /v1/algos``                       the latest parents with their progress
- ``GET  /v1/algos/{parent_id}``           one parent: progress, TCA, its children
- ``POST /v1/algos/{parent_id}/cancel``    cancel it (its working children with it)
- ``POST /v1/algos/{parent_id}/modify``    a new total ``qty`` and/or ``limit_price``

An unknown parent is ``404 E_ORDER_NOT_FOUND``; a parent that has ended is ``409``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ordergate.domain.errors import InvalidIntent
from ordergate.obs.logging import bind_ids
from ordergate.service.auth import require_read, require_write
from ordergate.service.body import parse_json, read_body
from ordergate.service.context import ctx
from ordergate.service.routes_orders import ERROR_RESPONSES

router = APIRouter(prefix="/v1/algos", tags=["algorithms"])
_PARENT_ID = Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
_MODIFY_FIELDS = frozenset({"qty", "limit_price"})


class AlgoModifyIn(BaseModel):
    """A parent's new total quantity (not below what has filled) and/or limit."""

    model_config = ConfigDict(extra="forbid")

    qty: str | None = Field(None, examples=["500"])
    limit_price: str | None = Field(None, examples=["101.25"])


_MODIFY_BODY = {
    "required": True,
    "content": {"application/json": {"schema": AlgoModifyIn.model_json_schema()}},
}


def report_body(report: Any) -> dict[str, Any]:
    """A parent's report as the intents route answers it: the report and its view."""
    body: dict[str, Any] = report.to_dict()
    body["algo"] = report.extra.get("algo")
    return body


@router.get("", dependencies=[Depends(require_read)], summary="The latest parent orders")
async def list_parents(
    request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> JSONResponse:
    engine = ctx(request).engine
    parents = await run_in_threadpool(engine.algos.list, limit)
    return JSONResponse({"parents": parents})


@router.get(
    "/{parent_id}",
    dependencies=[Depends(require_read)],
    responses=ERROR_RESPONSES,
    summary="One parent order with its progress, TCA and children",
)
async def get_parent(request: Request, parent_id: Annotated[str, _PARENT_ID]) -> JSONResponse:
    bind_ids(order_id=parent_id)
    return JSONResponse(await run_in_threadpool(ctx(request).engine.algos.view, parent_id))


@router.post(
    "/{parent_id}/cancel",
    dependencies=[Depends(require_write)],
    responses=ERROR_RESPONSES,
    summary="Cancel a parent order and its working children",
)
async def cancel_parent(request: Request, parent_id: Annotated[str, _PARENT_ID]) -> JSONResponse:
    bind_ids(order_id=parent_id)
    report = await run_in_threadpool(ctx(request).engine.algos.cancel, parent_id)
    return JSONResponse(report_body(report))


@router.post(
    "/{parent_id}/modify",
    dependencies=[Depends(require_write)],
    responses=ERROR_RESPONSES,
    openapi_extra={"requestBody": _MODIFY_BODY},
    summary="Change a parent's total quantity or limit",
)
async def modify_parent(request: Request, parent_id: Annotated[str, _PARENT_ID]) -> JSONResponse:
    c = ctx(request)
    data = parse_json(await read_body(request, c.max_body_bytes))
    if not isinstance(data, dict) or not data or not set(data) <= _MODIFY_FIELDS:
        raise InvalidIntent("body", "must be a JSON object of qty and/or limit_price")
    for name, value in data.items():
        if value is not None and not isinstance(value, str | int | Decimal):
            raise InvalidIntent(name, "must be a decimal number (a string keeps it exact)")
    bind_ids(order_id=parent_id)
    report = await run_in_threadpool(lambda: c.engine.algos.modify(parent_id, **data))
    return JSONResponse(report_body(report))
