"""The ``ordergate`` command line.

Every command opens the configured store (``--db`` or ``ORDERGATE_DATABASE_URL``) and
the configured broker; ``--json`` prints machine-readable output. A rejection prints
its error code and exits 2 (3 when retrying later can help).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ordergate.backtest import cli as backtest_cli
from ordergate.bootstrap import Runtime, build_engine, build_runtime
from ordergate.bus import cli as bus_cli
from ordergate.config import Settings, load_settings
from ordergate.domain.errors import ConfigError, InvalidIntent, OrderGateError
from ordergate.domain.money import fmt
from ordergate.domain.report import ExecutionReport
from ordergate.engine.engine import ExecutionEngine
from ordergate.exchange import cli as exchange_cli
from ordergate.risk import cli as risk_cli
from ordergate.risk.desk import RiskDesk
from ordergate.risk.killswitch import KillSwitchBoard
from ordergate.service import cli as service_cli
from ordergate.store.base import OrderQuery
from ordergate.views import detail_view, order_view, pnl_view, positions_view

app = typer.Typer(
    name="ordergate",
    help="Order execution engine: intents in, orders at a broker out, exactly once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Show the effective settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")

console = Console()
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLite file or database URL (default ./ordergate.db)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _settings(db: str | None) -> Settings:
    if db is not None and "://" not in db:
        db = f"sqlite:///{db}"
    return load_settings(database_url=db)


@contextmanager
def _engine(db: str | None) -> Iterator[ExecutionEngine]:
    engine = build_engine(_settings(db))
    try:
        yield engine
    finally:
        engine.store.close()


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _fail(exc: OrderGateError, as_json: bool) -> None:
    if as_json:
        _emit({"error": exc.to_dict()})
    else:
        console.print(f"[red]{exc.code.name}[/red]: {exc.message}", highlight=False)
    raise typer.Exit(3 if exc.retryable else 2)


def _guard(as_json: bool, action: Callable[[], None]) -> None:
    try:
        action()
    except OrderGateError as exc:
        _fail(exc, as_json)


def _print_report(report: ExecutionReport, as_json: bool) -> None:
    if as_json:
        _emit(report.to_dict())
        return
    replay = " (replayed: this key was seen before)" if report.replayed else ""
    console.print(
        f"{report.order_id} {report.status.value} filled {fmt(report.filled_qty)} "
        f"@ {fmt(report.avg_price) or '-'} fees {fmt(report.fees)}{replay}",
        highlight=False,
    )
    if report.error_code:
        console.print(f"  {report.error_code}: {report.error_message}", highlight=False)


@app.command()
def mark(
    symbol: str,
    last: Annotated[str, typer.Option(help="Last traded price.")],
    bid: Annotated[str | None, typer.Option()] = None,
    ask: Annotated[str | None, typer.Option()] = None,
    volume: Annotated[str | None, typer.Option()] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set the paper market for SYMBOL (fills resting orders it crosses)."""

    def run() -> None:
        with _engine(db) as engine:
            result = engine.mark(symbol, last, bid, ask, volume)
            if as_json:
                _emit(result.to_dict())
            else:
                console.print(f"{result.symbol} last {fmt(result.last)}", highlight=False)

    _guard(as_json, run)


@app.command()
def submit(
    symbol: Annotated[str, typer.Option(help="Instrument symbol.")],
    side: Annotated[str, typer.Option(help="buy or sell.")],
    qty: Annotated[str, typer.Option(help="Quantity (Decimal).")],
    key: Annotated[str, typer.Option(help="Idempotency key: the same key never trades twice.")],
    order_type: Annotated[
        str, typer.Option("--type", help="market, limit, stop, stop_limit.")
    ] = "market",
    price: Annotated[str | None, typer.Option(help="Limit price.")] = None,
    stop_price: Annotated[str | None, typer.Option("--stop-price", help="Trigger price.")] = None,
    tif: Annotated[str, typer.Option(help="DAY, GTC, IOC, FOK, GTD.")] = "DAY",
    strategy: Annotated[str, typer.Option(help="Strategy id.")] = "default",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit one order intent."""
    intent: dict[str, Any] = {
        "symbol": symbol,
        "side": side,
        "qty": qty,
        "order_type": order_type,
        "idempotency_key": key,
        "time_in_force": tif,
        "strategy_id": strategy,
    }
    if price is not None:
        intent["limit_price"] = price
    if stop_price is not None:
        intent["stop_price"] = stop_price

    def run() -> None:
        with _engine(db) as engine:
            report = engine.submit(intent)
            _print_report(report, as_json)
            if not report.ok and not report.replayed:
                raise typer.Exit(2)

    _guard(as_json, run)


@app.command()
def basket(
    file: Annotated[
        Path, typer.Argument(help='JSON file: a list of intents, or {"intents": [...]}.')
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit several intents as one basket (two commits in all; see engine.submit_many)."""

    def run() -> None:
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidIntent("file", f"cannot read {file}: {exc}") from None
        items = data.get("intents") if isinstance(data, dict) else data
        if not isinstance(items, list) or not items:
            raise InvalidIntent("file", 'must hold a list of intents or {"intents": [...]}')
        with _engine(db) as engine:
            reports = engine.submit_many(items)
        if as_json:
            _emit({"reports": [r.to_dict() for r in reports]})
        else:
            for report in reports:
                _print_report(report, False)
        if any(not r.ok and not r.replayed for r in reports):
            raise typer.Exit(2)

    _guard(as_json, run)


@app.command()
def cancel(order_id: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Cancel an open order."""

    def run() -> None:
        with _engine(db) as engine:
            _print_report(engine.cancel(order_id), as_json)

    _guard(as_json, run)


@app.command()
def orders(
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses.")] = None,
    symbol: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List orders, newest first."""

    def run() -> None:
        with _engine(db) as engine:
            query = OrderQuery(
                status=tuple(s.upper() for s in status or ()),
                symbol=symbol.upper() if symbol else None,
                limit=limit,
            )
            rows = engine.orders(query)
        if as_json:
            _emit([order_view(o) for o in rows])
            return
        table = Table("order_id", "symbol", "side", "qty", "type", "status", "filled", "avg px")
        for o in rows:
            table.add_row(
                o.order_id,
                o.symbol,
                o.side.value,
                fmt(o.qty),
                o.order_type.value,
                o.status.value,
                fmt(o.filled_qty),
                fmt(o.avg_fill_price) or "-",
            )
        console.print(table)

    _guard(as_json, run)


@app.command("order")
def order_cmd(order_id: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """One order with its fills and events."""

    def run() -> None:
        with _engine(db) as engine:
            order = engine.order(order_id)
            data = detail_view(order, engine.fills(order_id), engine.store.events_for(order_id))
        if as_json:
            _emit(data)
        else:
            console.print_json(json.dumps(data, default=str))

    _guard(as_json, run)


@app.command()
def positions(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Positions with average cost, realized and unrealized P&L."""

    def run() -> None:
        with _engine(db) as engine:
            rows = positions_view(engine)
        if as_json:
            _emit(rows)
            return
        table = Table("symbol", "qty", "avg price", "mark", "realized", "unrealized")
        for r in rows:
            table.add_row(
                r["symbol"],
                r["qty"],
                r["avg_price"],
                r["mark"] or "-",
                r["realized_pnl"],
                r["unrealized_pnl"],
            )
        console.print(table)

    _guard(as_json, run)


@app.command()
def pnl(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Realized (net of commission), unrealized and daily P&L."""

    def run() -> None:
        with _engine(db) as engine:
            data = pnl_view(engine)
        if as_json:
            _emit(data)
        else:
            for name, value in data.items():
                console.print(f"{name}: {value}", highlight=False)

    _guard(as_json, run)


@app.command()
def sync(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Look every open order up at the broker and apply what it says."""

    def run() -> None:
        with _engine(db) as engine:
            result = engine.sync_broker_state()
        _emit(result) if as_json else console.print(result)

    _guard(as_json, run)


@app.command()
def demo(db: DbOption = None, as_json: JsonOption = False) -> None:
    """A scripted paper session: marks, orders, fills, positions and P&L."""
    from ordergate.demo import run_demo

    def run() -> None:
        with _engine(db or ":memory:") as engine:
            log = run_demo(engine)
            data: dict[str, Any] = {
                "steps": log,
                "orders": [order_view(o) for o in engine.orders()],
                "pnl": pnl_view(engine),
            }
        if as_json:
            _emit(data)
            return
        for line in log:
            console.print(line, highlight=False)
        orders_table = Table("order_id", "symbol", "side", "qty", "status", "avg px")
        for o in data["orders"]:
            orders_table.add_row(
                o["order_id"],
                o["symbol"],
                o["side"],
                o["qty"],
                o["status"],
                o["avg_fill_price"] or "-",
            )
        console.print(orders_table)
        console.print(data["pnl"])

    _guard(as_json, run)


@config_app.command("show")
def config_show(db: DbOption = None) -> None:
    """Print the effective settings (secrets masked)."""
    try:
        _emit(_settings(db).shown())
    except OrderGateError as exc:
        _fail(exc, True)


def _runtime(db: str | None) -> Runtime:
    """The engine and its desk as every mode builds them (the one composition root)."""
    return build_runtime(_settings(db))


def _board(db: str | None) -> KillSwitchBoard:
    board = _runtime(db).board
    if board is None:  # pragma: no cover - the root always builds a desk here
        raise ConfigError("no kill-switch board is configured")
    return board


def _plain_engine(db: str | None) -> ExecutionEngine:
    return build_engine(_settings(db))


risk_cli.register(app, _board, _plain_engine, lambda db: _settings(db).mode)
backtest_cli.register(app)
bus_cli.register(app)
service_cli.register(app)
exchange_cli.register(app)

trading_app = typer.Typer(
    help="The desk's trading state (NORMAL, REDUCING, HALTED) and EMERGENCY posture.",
    no_args_is_help=True,
)
app.add_typer(trading_app, name="trading")
ActorOpt = Annotated[str, typer.Option("--actor", help="Who (recorded).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded).")]


def _desk(db: str | None) -> RiskDesk:
    desk = _runtime(db).desk
    if desk is None:  # pragma: no cover - the root always builds a desk here
        raise ConfigError("no risk desk is configured")
    return desk


def _controls_dict(desk: RiskDesk) -> dict[str, Any]:
    c = desk.controls
    return {
        name: {"value": ch.value, "actor": ch.actor, "reason": ch.reason, "at": ch.at.isoformat()}
        for name, ch in (("state", c.state_change), ("posture", c.posture_change))
    }


@trading_app.command("set")
def trading_set(
    state: Annotated[str, typer.Argument(help="NORMAL, REDUCING or HALTED.")],
    actor: ActorOpt,
    reason: ReasonOpt,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """HALTED: no new orders (cancels pass). REDUCING: only orders that reduce exposure."""

    def run() -> None:
        desk = _desk(db)
        try:
            desk.set_trading_state(state, actor=actor, reason=reason)
        except ValueError:
            raise ConfigError(
                f"unknown trading state {state!r}: NORMAL, REDUCING or HALTED"
            ) from None
        _emit(_controls_dict(desk)) if as_json else console.print(_controls_dict(desk))

    _guard(as_json, run)


@trading_app.command("emergency")
def trading_emergency(
    on: Annotated[bool, typer.Option("--on/--off", help="Raise or lower the posture.")],
    actor: ActorOpt,
    reason: ReasonOpt,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """EMERGENCY posture (seed 002's Black Swan): only exposure-reducing orders pass."""

    def run() -> None:
        desk = _desk(db)
        desk.set_posture("EMERGENCY" if on else "NORMAL", actor=actor, reason=reason)
        _emit(_controls_dict(desk)) if as_json else console.print(_controls_dict(desk))

    _guard(as_json, run)


@trading_app.command("show")
def trading_show(db: DbOption = None) -> None:
    """The trading state and posture, with who set them and why."""
    _guard(True, lambda: _emit(_controls_dict(_desk(db))))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
