"""Positions, P&L, marks, reconciliation, kill switches, status, health and metrics."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Protocol, cast

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from ordergate.bus.memory import Event
from ordergate.domain.errors import ErrorCode, InvalidIntent, OrderGateError, PersistenceError
from ordergate.service.auth import require_read, require_write
from ordergate.service.body import parse_json, read_body
from ordergate.service.context import ServiceContext, ctx
from ordergate.service.routes_orders import ERROR_RESPONSES
from ordergate.service.schemas import (
    KillSwitchIn,
    KillSwitchOut,
    ReadyOut,
    TradingIn,
    TradingOut,
)
from ordergate.views import pnl_view, positions_view

if TYPE_CHECKING:
    from ordergate.engine.engine import ExecutionEngine
    from ordergate.risk.killswitch import KillSwitchBoard
    from ordergate.risk.trading_state import ControlChange, TradingControls

router = APIRouter(tags=["operations"])
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/^$&-]{0,63}$")
_MARK_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MarkIn"}}},
}


@router.get("/v1/positions", dependencies=[Depends(require_read)], responses=ERROR_RESPONSES)
async def positions(request: Request) -> JSONResponse:
    """Positions with average cost, mark, realized and unrealized P&L (Decimal strings)."""
    return JSONResponse(await run_in_threadpool(positions_view, ctx(request).engine))


@router.get("/v1/pnl", dependencies=[Depends(require_read)], responses=ERROR_RESPONSES)
async def pnl(request: Request) -> JSONResponse:
    """Realized (net of commission), unrealized and daily P&L."""
    return JSONResponse(await run_in_threadpool(pnl_view, ctx(request).engine))


@router.post(
    "/v1/marks",
    dependencies=[Depends(require_write)],
    responses=ERROR_RESPONSES,
    openapi_extra={"requestBody": _MARK_BODY},
)
async def mark(request: Request) -> JSONResponse:
    """Set the paper market for a symbol (fills resting orders the price crosses)."""
    c = ctx(request)
    data = parse_json(await read_body(request, c.max_body_bytes))
    if not isinstance(data, dict):
        raise InvalidIntent("body", "must be a JSON object with symbol and last")
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not _SYMBOL.match(symbol):
        raise InvalidIntent("symbol", "must be a symbol such as AAPL")
    unknown = set(data) - {"symbol", "last", "bid", "ask", "volume"}
    if unknown:
        raise InvalidIntent(sorted(unknown)[0], "is not a field of a mark")
    if "last" not in data:
        raise InvalidIntent("last", "is required")
    result = await run_in_threadpool(
        c.engine.mark,
        symbol,
        data.get("last"),
        data.get("bid"),
        data.get("ask"),
        data.get("volume"),
    )
    return JSONResponse(result.to_dict())


@router.post("/v1/reconcile", dependencies=[Depends(require_write)], responses=ERROR_RESPONSES)
async def reconcile(request: Request) -> JSONResponse:
    """Look every open order up at the broker by client_order_id and apply what it says."""
    return JSONResponse(await run_in_threadpool(ctx(request).engine.sync_broker_state))


@router.get("/v1/status", dependencies=[Depends(require_read)], responses=ERROR_RESPONSES)
async def status(request: Request) -> JSONResponse:
    """What the dashboard's header shows: mode, adapter, circuit, switches, open orders."""
    c = ctx(request)
    engine = c.engine
    return JSONResponse(
        {
            "mode": str(engine.config.mode),
            "dry_run": engine.config.dry_run,
            "adapter": engine.broker.adapter_id,
            "circuit": c.circuit(),
            "kill_switches_available": c.board is not None,
            "kill_switches_active": 0 if c.board is None else len(c.board.list()),
            "sse_clients": c.events.clients,
        }
    )


@router.get("/healthz", dependencies=[Depends(require_read)], responses=ERROR_RESPONSES)
async def healthz(request: Request) -> JSONResponse:
    """``ok`` when the store answers a read; ``503 E_EXEC_PERSISTENCE`` when it does not."""
    engine = ctx(request).engine
    try:
        await run_in_threadpool(engine.store.get_order, "healthz")
    except PersistenceError:
        raise
    except Exception as exc:
        raise PersistenceError(f"the store did not answer: {type(exc).__name__}") from exc
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    dependencies=[Depends(require_read)],
    responses={200: {"model": ReadyOut}, **ERROR_RESPONSES},
)
async def readyz(request: Request) -> JSONResponse:
    """Ready to take an order: the store can *write* and the broker answers (within 1 s).

    ``503 E_API_NOT_READY`` otherwise; ``context`` has every part's answer, the message
    names the parts that failed (``store: a write did not commit: database is locked``).
    """
    checks = await ctx(request).readiness.check()
    failed = {name: why for name, why in checks.items() if why != "ok"}
    if failed:
        message = "; ".join(f"{name}: {why}" for name, why in failed.items())
        raise OrderGateError(message, code=ErrorCode.E_API_NOT_READY, context=checks)
    return JSONResponse({"status": "ready", "checks": checks})


@router.get(
    "/metrics",
    dependencies=[Depends(require_read)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus exposition of this service's registry (seed 000's metric names)."""
    return Response(ctx(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


def kill_switch_router() -> APIRouter:
    """Routes for the kill switches; mounted only when the risk package gives a board."""
    ks = APIRouter(prefix="/v1", tags=["risk"])

    @ks.get(
        "/kill-switches",
        dependencies=[Depends(require_read)],
        responses={200: {"model": list[KillSwitchOut]}, **ERROR_RESPONSES},
    )
    async def list_switches(request: Request) -> JSONResponse:
        """Every switch, including those cleared (``OFF``) — who touched it last, and why."""
        board = _board(ctx(request))
        await run_in_threadpool(board.refresh)
        return JSONResponse([s.to_dict() for s in board.list(include_off=True)])

    @ks.put(
        "/kill-switches",
        dependencies=[Depends(require_write)],
        responses={200: {"model": KillSwitchOut}, **ERROR_RESPONSES},
    )
    async def set_switch(request: Request, body: KillSwitchIn) -> JSONResponse:
        """Set (ACTIVE/WARNING) or clear (OFF) one switch; reason and actor are recorded."""
        c = ctx(request)
        board = _board(c)
        switch = await run_in_threadpool(
            lambda: board.set(
                body.kind, body.target, body.state, reason=body.reason, actor=body.actor
            )
        )
        data = switch.to_dict()
        c.events.publish(Event(c.engine.bus.prefix + "ops.kill_switch", None, data))
        return JSONResponse(data)

    return ks


class TradingDesk(Protocol):
    """What the trading routes need of the risk desk (``ordergate.risk.desk.RiskDesk``)."""

    controls: TradingControls

    def refresh(self) -> None: ...
    def set_trading_state(self, state: str, *, actor: str, reason: str) -> ControlChange: ...
    def set_posture(self, posture: str, *, actor: str, reason: str) -> ControlChange: ...


def find_desk(engine: ExecutionEngine) -> TradingDesk | None:
    """The risk desk behind the engine's gates, when there is one."""
    gates = engine.gates
    if all(hasattr(gates, name) for name in ("controls", "set_trading_state", "set_posture")):
        return cast(TradingDesk, gates)
    return None


def trading_router(desk: TradingDesk) -> APIRouter:
    """``GET``/``PUT /v1/trading``: the desk's trading state and posture (``ordergate trading``)."""
    tr = APIRouter(prefix="/v1", tags=["risk"])

    def view() -> dict[str, Any]:
        c = desk.controls
        return {
            name: {
                "value": ch.value,
                "actor": ch.actor,
                "reason": ch.reason,
                "at": ch.at.isoformat(),
            }
            for name, ch in (("state", c.state_change), ("posture", c.posture_change))
        }

    @tr.get(
        "/trading",
        dependencies=[Depends(require_read)],
        responses={200: {"model": TradingOut}, **ERROR_RESPONSES},
    )
    async def get_trading() -> JSONResponse:
        """The trading state (NORMAL / REDUCING / HALTED) and posture (NORMAL / EMERGENCY)."""

        def load() -> dict[str, Any]:
            desk.refresh()  # another process (the CLI) may have changed them
            return view()

        return JSONResponse(await run_in_threadpool(load))

    @tr.put(
        "/trading",
        dependencies=[Depends(require_write)],
        responses={200: {"model": TradingOut}, **ERROR_RESPONSES},
    )
    async def set_trading(request: Request, body: TradingIn) -> JSONResponse:
        """Change the state, the posture or both; the change is stored with actor and reason."""
        if body.state is None and body.posture is None:
            raise InvalidIntent("state", "give a state, a posture or both")
        c = ctx(request)

        def change() -> dict[str, Any]:
            if body.state is not None:
                desk.set_trading_state(body.state, actor=body.actor, reason=body.reason)
            if body.posture is not None:
                desk.set_posture(body.posture, actor=body.actor, reason=body.reason)
            return view()

        data = await run_in_threadpool(change)
        c.events.publish(Event(c.engine.bus.prefix + "ops.trading_state", None, data))
        return JSONResponse(data)

    return tr


def _board(c: ServiceContext) -> KillSwitchBoard:
    if c.board is None:
        raise PersistenceError("no kill-switch board is configured")
    return c.board
