"""The FastAPI app: routes, auth, errors, the SSE feed, metrics and the dashboard.

:func:`create_app` wires one app around an engine someone else built (``ordergate
serve`` or a test) and owns nothing the engine owns: it subscribes to the engine's bus
for metrics, the event stream and status log lines, and unsubscribes when the app shuts
down. The engine's store is closed by whoever built the engine.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from importlib.resources import files
from typing import Any

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate.bus.memory import Event
from ordergate.domain.errors import ErrorCode, OrderGateError
from ordergate.domain.report import slippage_bps
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.logging import clear_ids
from ordergate.obs.metrics import ExecMetrics
from ordergate.obs.redact import Redactor
from ordergate.service import openapi, routes_algos, routes_ops, routes_orders, routes_reconcile
from ordergate.service.auth import TokenAuth, require_read, require_write
from ordergate.service.context import ServiceContext, ctx
from ordergate.service.errors import install_error_handlers
from ordergate.service.events import Broadcaster
from ordergate.service.guard import RequestGuard
from ordergate.service.ready import Readiness

log = structlog.get_logger("ordergate.service")
_STATIC = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "index.html": "text/html; charset=utf-8",
}
_QUIET_PATHS = frozenset({"/metrics", "/healthz", "/readyz", "/v1/events"})


def create_app(
    engine: ExecutionEngine,
    *,
    token: str | None,
    protect_reads: bool = False,
    board: Any = None,
    redactor: Redactor | None = None,
    max_body_bytes: int = 65_536,
    readiness: Readiness | None = None,
) -> FastAPI:
    """An app serving ``engine``. ``board`` (a ``KillSwitchBoard``) adds the kill-switch
    routes and controls; ``protect_reads`` guards every route (listening beyond loopback).
    """
    redactor = redactor or Redactor([token])
    context = ServiceContext(
        engine=engine,
        redactor=redactor,
        metrics=_metrics(engine),
        events=Broadcaster(redactor),
        board=board,
        max_body_bytes=max_body_bytes,
        readiness=readiness or Readiness.for_engine(engine),
    )
    unsubscribe = _subscribe(engine, context)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for stop in unsubscribe:
            stop()
        context.readiness.close()

    app = FastAPI(
        title="ordergate",
        version="1",
        summary="Order execution engine: intents in, orders at a broker out, exactly once.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = context
    app.state.auth = TokenAuth(token, protect_reads=protect_reads)
    install_error_handlers(app, redactor)
    app.include_router(routes_orders.router)
    app.include_router(routes_ops.router)
    app.include_router(routes_reconcile.router)
    app.include_router(routes_algos.router)
    if engine.broker.adapter_id == "kite":  # the daily token, installed without a restart
        from ordergate.brokers.kite.routes import build_router as kite_router

        app.include_router(kite_router(lambda: engine.broker, require_write))
    if board is not None:
        app.include_router(routes_ops.kill_switch_router())
    desk = routes_ops.find_desk(engine)
    if desk is not None:
        app.include_router(routes_ops.trading_router(desk))
    _add_stream_and_docs(app, protect_reads=protect_reads)
    _add_dashboard(app)
    app.add_middleware(RequestGuard, redactor=redactor, max_body_bytes=max_body_bytes)
    app.add_middleware(RequestLog)
    return app


def _metrics(engine: ExecutionEngine) -> ExecMetrics:
    def lookup(order_id: str) -> Decimal | None:
        order = engine.store.get_order(order_id)
        return None if order is None else slippage_bps(order)

    def queue_depth() -> float:
        policy = engine.policy
        total = 0
        for part in (getattr(policy, "rate_limit", None), getattr(policy, "throttle", None)):
            waiting = getattr(part, "waiting", None)
            if callable(waiting):
                total += int(waiting())
        return float(total)

    metrics = ExecMetrics(engine.broker.adapter_id, slippage_lookup=lookup, queue_depth=queue_depth)
    metrics.seed_open_orders(o.order_id for o in engine.store.open_orders())
    return metrics


def _subscribe(engine: ExecutionEngine, c: ServiceContext) -> list[Callable[[], None]]:
    stops = [
        engine.subscribe(pattern, handler)
        for pattern in ("orders.*", "executions.*", "ops.*")
        for handler in (c.metrics.on_event, c.events.publish)
    ]
    stops.append(engine.subscribe("market.*", c.events.publish))  # marks move unrealized P&L
    stops.append(engine.subscribe("orders.*", _log_status))
    breaker = getattr(engine.policy, "breaker", None)
    add_listener = getattr(breaker, "add_listener", None)
    if callable(add_listener):

        def on_circuit(adapter: str, old: Any, new: Any) -> None:
            state = str(getattr(new, "value", new))
            c.metrics.set_circuit(adapter, state)
            if state == "open":  # recorded through the outbox (the escalation): the bus has it
                return
            body = {"adapter": adapter, "state": state, "previous": str(getattr(old, "value", old))}
            c.events.publish(Event(f"{engine.bus.prefix}ops.broker.circuit_{state}", None, body))

        add_listener(on_circuit)
        c.metrics.set_circuit(engine.broker.adapter_id, c.circuit().get("state", "closed"))
    return stops


def _log_status(event: Event) -> None:
    """One line per status change, with the order's ids (the audit trail's shadow)."""
    p = event.payload
    if "status" not in p or event.topic.endswith("submit_attempt"):
        return
    log.info(
        "order status",
        topic=event.topic,
        order_id=p.get("order_id"),
        client_order_id=p.get("client_order_id"),
        idempotency_key=p.get("idempotency_key"),
        status=p.get("status"),
        prev_status=p.get("prev_status"),
        error_code=p.get("error_code"),
    )


def _add_stream_and_docs(app: FastAPI, *, protect_reads: bool) -> None:
    @app.get(
        "/v1/events",
        tags=["events"],
        dependencies=[Depends(require_read)],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def events(request: Request) -> StreamingResponse:
        """Server-sent events: every order status change (``event:`` is the topic, ``data:``
        the order's snapshot), executions and operations events, as they commit."""
        return StreamingResponse(
            ctx(request).events.stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    fastapi_document = app.openapi
    documents: list[dict[str, Any]] = []

    def openapi_document() -> dict[str, Any]:
        """FastAPI's document with ours written over it (built once)."""
        if not documents:
            documents.append(openapi.document(fastapi_document(), protect_reads=protect_reads))
        return documents[0]

    app.openapi = openapi_document  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_read)])
    async def openapi_json() -> JSONResponse:
        return JSONResponse(openapi_document())

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="ordergate API")


def _add_dashboard(app: FastAPI) -> None:
    """The dashboard: three static files read once, served as they are (no build step).

    They carry no data (everything comes from the API with the token the operator
    types in), so they are served without auth even beyond loopback.
    """
    folder = files("ordergate.service") / "static"
    assets = {name: (folder / name).read_bytes() for name in _STATIC}

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return Response(assets["index.html"], media_type=_STATIC["index.html"])

    @app.get("/ui/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in assets or name == "index.html":
            raise OrderGateError(f"no asset {name}", code=ErrorCode.E_API_NOT_FOUND)
        return Response(assets[name], media_type=_STATIC[name])


class RequestLog:
    """One JSON line per request (method, path, status, ms), ids of the request bound."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        clear_ids()
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            path = str(scope.get("path", ""))
            if path not in _QUIET_PATHS or status >= 400:
                log.info(
                    "http request",
                    method=scope.get("method"),
                    path=path,
                    status=status,
                    ms=round((time.perf_counter() - start) * 1000, 3),
                )
