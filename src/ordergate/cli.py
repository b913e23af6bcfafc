"""The ``ordergate`` command line.

Every command opens the configured store (``--db`` or ``ORDERGATE_DATABASE_URL``) and
the configured broker, and closes the store when it is done; ``--json`` prints JSON
and nothing else on stdout (warnings, such as a caller held by the throttle, go to
stderr). A rejection prints its error code once and exits 2 (3 when retrying later can
help). A command that only reads refuses a database that does not exist instead of
creating an empty one.

Start-up is kept short (``ordergate --help`` imports typer and this module only): the
engine, the store, pydantic and rich are imported by the command that needs them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO, cast

import typer

from ordergate.backtest import cli as backtest_cli
from ordergate.brokers.fix import cli as fix_cli
from ordergate.brokers.kite.cli import kite_app
from ordergate.bus import cli as bus_cli
from ordergate.cli_kit import emit, fail, message, require_database
from ordergate.engine import algos_cli, plan_cli, reconcile_cli
from ordergate.exchange import cli as exchange_cli
from ordergate.risk import cli as risk_cli
from ordergate.service import cli as service_cli
from ordergate.shadow import cli as shadow_cli

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from ordergate.config import Settings
    from ordergate.domain.report import ExecutionReport
    from ordergate.engine.engine import ExecutionEngine
    from ordergate.obs.redact import Redactor
    from ordergate.risk.desk import RiskDesk
    from ordergate.risk.killswitch import KillSwitchBoard
    from ordergate.store.base import Store

app = typer.Typer(
    name="ordergate",
    help="Order execution engine: intents in, orders at a broker out, exactly once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: rich's renderer alone costs ~45 ms a start
)
config_app = typer.Typer(
    help="Show the effective settings.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(config_app, name="config")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLite file or database URL (default ./ordergate.db)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


# ----------------------------------------------------------- lazy composition
# The composition root and its parts are imported on first use, not at start-up.


def build_engine(settings: Settings, **parts: Any) -> ExecutionEngine:
    from ordergate.bootstrap import build_engine as build

    return build(settings, **parts)


def build_store(settings: Settings) -> Store:
    from ordergate.bootstrap import build_store as build

    return build(settings)


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _table(*columns: str) -> Table:
    """A table whose ids and figures are never cut off: narrow terminals wrap them."""
    from rich.table import Table

    table = Table()
    for name in columns:
        table.add_column(name, overflow="fold")
    return table


def _print_table(table: Table) -> None:
    from rich.console import Console

    Console(highlight=False, width=max(_console().width, 160)).print(table)


# ------------------------------------------------------------------ plumbing


def _settings(db: str | None) -> Settings:
    from ordergate.config import load_settings

    redactor = _log_to_stderr()  # before the settings: loading them may warn
    if db is not None and "://" not in db:
        db = f"sqlite:///{db}"
    settings = load_settings(database_url=db)
    redactor.add(settings.secret_values())
    return settings


def _log_to_stderr() -> Redactor:
    """Warnings (a caller held by the throttle, a recovery that failed) on stderr, as JSON,
    so stdout carries only the command's own output. Returns the lines' redactor."""
    import io
    import sys

    from ordergate.obs.logging import configure_logging
    from ordergate.obs.redact import Redactor

    class CurrentStderr(io.TextIOBase):  # whatever sys.stderr is when a line is written
        def write(self, text: str) -> int:
            return sys.stderr.write(text)

        def flush(self) -> None:
            sys.stderr.flush()

    redactor = Redactor()
    configure_logging(redactor, level="WARNING", stream=cast("TextIO", CurrentStderr()))
    return redactor


@contextmanager
def _engine(db: str | None, **parts: Any) -> Iterator[ExecutionEngine]:
    """The configured engine on ``--db`` (``parts`` as ``build_engine`` takes them), its
    store closed on exit: the one opener every command group is handed."""
    engine = build_engine(_settings(db), **parts)
    try:
        yield engine
    finally:
        engine.store.close()


@contextmanager
def _store(db: str | None) -> Iterator[Store]:
    """The configured store on ``--db``, closed on exit."""
    store = build_store(_settings(db))
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _reading_store(db: str | None) -> Iterator[Store]:
    """The configured store on ``--db`` for a command about what is recorded: a
    database that does not exist is refused (created by nothing)."""
    require_database(_settings(db))
    with _store(db) as store:
        yield store


@contextmanager
def _reading_engine(db: str | None) -> Iterator[ExecutionEngine]:
    require_database(_settings(db))
    with _engine(db) as engine:
        yield engine


def _guard(as_json: bool, action: Callable[[], None]) -> None:
    from ordergate.domain.errors import OrderGateError

    try:
        action()
    except OrderGateError as exc:
        fail(exc, as_json)


def _print_report(report: ExecutionReport, as_json: bool) -> None:
    from ordergate.domain.positions import shown_money, shown_price

    if as_json:
        emit(report.to_dict())
        return
    replay = " (replayed: this key was seen before)" if report.replayed else ""
    typer.echo(
        f"{report.order_id} {report.status.value} filled {fmt_qty(report.filled_qty)} "
        f"@ {shown_price(report.avg_price) or '-'} fees {shown_money(report.fees)}{replay}"
    )
    if report.error_code:
        typer.echo(f"  {report.error_code}: {message(report.error_code, report.error_message)}")


def fmt_qty(value: Any) -> str:
    from ordergate.domain.money import fmt

    return fmt(value) or "0"


def _echo(data: dict[str, Any], as_json: bool) -> None:
    """A result as JSON, or as ``key: value`` lines (never a Python repr)."""
    if as_json:
        emit(data)
        return
    for key, value in data.items():
        shown = value if isinstance(value, str | int | float) else json.dumps(value, default=str)
        typer.echo(f"{key}: {shown}")


def _offset(pct: str | None, side: str, *, loss: bool) -> str | None:
    """A bracket distance as the intent signs it: a buy's stop below (−), its target above
    (+); a sell's the other way round. The flag takes the distance; the side decides."""
    from ordergate.domain.money import fmt, parse_decimal

    if pct is None:
        return None
    field = "--sl-pct" if loss else "--tp-pct"
    fraction = abs(parse_decimal(pct, field, positive=True)) / 100
    below = loss == (side.strip().lower() == "buy")
    return fmt(-fraction if below else fraction)


def _parse_time(value: str, field: str) -> str:
    """An ISO 8601 time with its zone (``2026-12-01T16:00:00-05:00``), checked here."""
    from datetime import datetime

    from ordergate.domain.errors import InvalidIntent

    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidIntent(field, f"must be an ISO 8601 time, got {value!r}") from None
    if when.tzinfo is None:
        raise InvalidIntent(field, f"must name its time zone (…Z or …+00:00), got {value!r}")
    return when.isoformat()


# ------------------------------------------------------------------ commands


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
    """Set the market for SYMBOL (the paper broker or the simulated exchange fills what
    it crosses)."""
    from ordergate.domain.money import fmt

    def run() -> None:
        with _engine(db) as engine:
            result = engine.mark(symbol, last, bid, ask, volume)
        if as_json:
            emit(result.to_dict())
        else:
            typer.echo(f"{result.symbol} last {fmt(result.last)}")

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
    expire_at: Annotated[
        str | None, typer.Option("--expire-at", help="GTD: ISO 8601 time with zone.")
    ] = None,
    stop_loss: Annotated[
        str | None,
        typer.Option("--sl-pct", help="Stop-loss this many % from the fill (seed 004: 2)."),
    ] = None,
    take_profit: Annotated[
        str | None,
        typer.Option("--tp-pct", help="Take-profit this many % from the fill (seed 004: 3)."),
    ] = None,
    strategy: Annotated[str, typer.Option(help="Strategy id.")] = "default",
    account: Annotated[str | None, typer.Option(help="Account id.")] = None,
    decision_id: Annotated[str | None, typer.Option("--decision-id")] = None,
    profile_version_id: Annotated[str | None, typer.Option("--profile-version-id")] = None,
    regime_id: Annotated[str | None, typer.Option("--regime-id")] = None,
    universe_id: Annotated[str | None, typer.Option("--universe-id")] = None,
    tag: Annotated[str | None, typer.Option(help="Free text kept with the order.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit one order intent (with a stop-loss / take-profit bracket when asked)."""
    intent: dict[str, Any] = {
        "symbol": symbol,
        "side": side,
        "qty": qty,
        "order_type": order_type,
        "idempotency_key": key,
        "time_in_force": tif,
        "strategy_id": strategy,
    }
    optional = {
        "limit_price": price,
        "stop_price": stop_price,
        "sl_offset_pct": _offset(stop_loss, side, loss=True),
        "tp_offset_pct": _offset(take_profit, side, loss=False),
        "account_id": account,
        "decision_id": decision_id,
        "profile_version_id": profile_version_id,
        "regime_id": regime_id,
        "universe_id": universe_id,
        "tag": tag,
    }
    intent.update({k: v for k, v in optional.items() if v is not None})

    def run() -> None:
        if expire_at is not None:
            intent["expire_at"] = _parse_time(expire_at, "expire_at")
        with _engine(db) as engine:
            report = engine.submit(intent)
        _print_report(report, as_json)
        if not report.ok and not report.replayed:
            from ordergate.domain.errors import ErrorCode

            code = ErrorCode.__members__.get(report.error_code or "")
            raise typer.Exit(3 if code is not None and code.retryable else 2)

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
    from ordergate.domain.errors import InvalidIntent

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
            emit({"reports": [r.to_dict() for r in reports]})
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
        with _reading_engine(db) as engine:
            report = engine.cancel(order_id)
        _print_report(report, as_json)

    _guard(as_json, run)


@app.command()
def modify(
    order_id: str,
    qty: Annotated[
        str | None, typer.Option("--qty", help="The new total quantity (above what has filled).")
    ] = None,
    limit: Annotated[str | None, typer.Option("--limit", help="The new limit price.")] = None,
    stop: Annotated[str | None, typer.Option("--stop", help="The new stop price.")] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="Idempotency key of this modify (the same key replays it)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a working order's quantity or prices, exactly once."""

    def run() -> None:
        with _reading_engine(db) as engine:
            report = engine.modify(order_id, qty=qty, limit_price=limit, stop_price=stop, key=key)
        replace = report.extra.get("replace", {})
        if as_json:
            emit({**report.to_dict(), "replace": replace})
            return
        _print_report(report, False)
        terms = f"qty {replace.get('qty')}"
        for name in ("limit_price", "stop_price"):
            if replace.get(name) is not None:
                terms += f" {name.split('_')[0]} {replace[name]}"
        typer.echo(f"  replace {replace.get('number')} {replace.get('state')}: {terms}")
        if replace.get("replacement_order_id"):
            typer.echo(f"  replaced by {replace['replacement_order_id']}")

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
    from ordergate.domain.positions import shown_price
    from ordergate.store.base import OrderQuery
    from ordergate.views import order_view

    def run() -> None:
        with _reading_engine(db) as engine:
            query = OrderQuery(
                status=tuple(s.upper() for s in status or ()),
                symbol=symbol.upper() if symbol else None,
                limit=limit,
            )
            rows = engine.orders(query)
        if as_json:
            emit([order_view(o) for o in rows])
            return
        table = _table(
            "order_id",
            "strategy",
            "symbol",
            "side",
            "qty",
            "type",
            "tif",
            "status",
            "filled",
            "avg px",
        )
        for o in rows:
            table.add_row(
                o.order_id,
                o.strategy_id,
                o.symbol,
                o.side.value,
                fmt_qty(o.qty),
                o.order_type.value,
                o.time_in_force.value,
                o.status.value,
                fmt_qty(o.filled_qty),
                shown_price(o.avg_fill_price) or "-",
            )
        _print_table(table)
        if not rows:
            typer.echo("no orders")

    _guard(as_json, run)


@app.command("order")
def order_cmd(order_id: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """One order with its fills and events."""
    from ordergate.views import detail_view

    def run() -> None:
        with _reading_engine(db) as engine:
            order = engine.order(order_id)
            data = detail_view(order, engine.fills(order_id), engine.store.events_for(order_id))
        if as_json:
            emit(data)
        else:
            _console().print_json(json.dumps(data, default=str))

    _guard(as_json, run)


@app.command()
def positions(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Positions with average cost, realized and unrealized P&L (rounded as shown here;
    exact in --json)."""
    from decimal import Decimal

    from ordergate.domain.positions import shown_money, shown_price
    from ordergate.views import positions_view

    def money(text: str | None) -> str:
        return "-" if text is None else shown_money(Decimal(text)) or "-"

    def run() -> None:
        with _reading_engine(db) as engine:
            rows = positions_view(engine)
        if as_json:
            emit(rows)
            return
        table = _table("symbol", "qty", "avg price", "mark", "realized", "unrealized", "fees")
        for r in rows:
            avg = r["avg_price"]
            table.add_row(
                r["symbol"],
                r["qty"],
                "-" if avg is None else shown_price(Decimal(avg)) or "-",
                r["mark"] or "-",
                money(r["realized_pnl"]),
                money(r["unrealized_pnl"]),
                money(r["commission"]),
            )
        _print_table(table)
        if not rows:
            typer.echo("no positions")

    _guard(as_json, run)


@app.command()
def pnl(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Realized (net of commission), unrealized and daily P&L."""
    from decimal import Decimal

    from ordergate.domain.positions import shown_money
    from ordergate.views import pnl_view

    def run() -> None:
        with _reading_engine(db) as engine:
            data = pnl_view(engine)
        if as_json:
            emit(data)
            return
        for name, value in data.items():
            if isinstance(value, dict):
                for day, amount in value.items():
                    typer.echo(f"{name} {day}: {shown_money(Decimal(amount))}")
            else:
                typer.echo(f"{name}: {shown_money(Decimal(value))}")

    _guard(as_json, run)


@app.command()
def sync(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Look every open order up at the broker and apply what it says."""

    def run() -> None:
        with _reading_engine(db) as engine:
            result = engine.sync_broker_state()
        _echo(result, as_json)

    _guard(as_json, run)


@app.command()
def recover(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Startup recovery without serving: settle every open order nobody else owns with the
    broker (adopt, resend only if never received, or fail), then hand them back."""

    def run() -> None:
        from ordergate.bootstrap import build_ownership

        done: dict[str, Any] = {}
        with _reading_engine(db) as engine:
            ownership = build_ownership(_settings(db), engine)
            try:  # a heartbeat takes up to 100 orphans: beat until none is left
                while (report := ownership.heartbeat(force=True)) is not None:
                    for key, value in report.to_dict().items():
                        done[key] = done.get(key, 0 if not isinstance(value, list) else []) + value
            finally:
                ownership.stop()
        if as_json:
            emit(done or {"orders": 0})
        elif not done:
            typer.echo("nothing to recover: no open order without a live owner")
        else:
            _echo(done, False)

    _guard(as_json, run)


@app.command()
def demo(db: DbOption = None, as_json: JsonOption = False) -> None:
    """A scripted paper session: marks, orders, fills, positions and P&L."""
    from ordergate.demo import run_demo
    from ordergate.domain.positions import shown_price
    from ordergate.views import order_view, pnl_view

    def run() -> None:
        with _engine(db or ":memory:") as engine:
            log = run_demo(engine)
            data: dict[str, Any] = {
                "steps": log,
                "orders": [order_view(o) for o in engine.orders()],
                "pnl": pnl_view(engine),
            }
        if as_json:
            emit(data)
            return
        for line in log:
            typer.echo(line)
        orders_table = _table("order_id", "symbol", "side", "qty", "status", "avg px")
        for o in data["orders"]:
            avg = o["avg_fill_price"]
            orders_table.add_row(
                o["order_id"],
                o["symbol"],
                o["side"],
                o["qty"],
                o["status"],
                "-" if avg is None else shown_price(_dec(avg)) or "-",
            )
        _print_table(orders_table)
        _echo(data["pnl"], False)

    _guard(as_json, run)


def _dec(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


@config_app.command("show")
def config_show(db: DbOption = None, as_json: JsonOption = True) -> None:
    """Print the effective settings as JSON (secrets masked)."""
    _guard(True, lambda: emit(_settings(db).shown()))


@contextmanager
def _board(db: str | None, existing: bool = False) -> Iterator[KillSwitchBoard]:
    """The risk desk's kill-switch board (the one the engine's gates check)."""
    with _open_desk(db, existing) as desk:
        yield desk.board


@contextmanager
def _plain_engine(db: str | None) -> Iterator[ExecutionEngine]:
    with _engine(db) as engine:
        yield engine


def _mode(db: str | None) -> Any:
    return _settings(db).mode


risk_cli.register(app, _board)
plan_cli.register(app, _plain_engine, _mode)
backtest_cli.register(app)
algos_cli.register(app, _engine, _reading_engine)
bus_cli.register(app, build_engine, build_store)
service_cli.register(app)
exchange_cli.register(app)
reconcile_cli.register(app, _engine, _reading_store)
app.add_typer(kite_app, name="kite")
app.add_typer(fix_cli.app, name="fix-acceptor")
shadow_cli.register(app, build_store)

trading_app = typer.Typer(
    help="The desk's trading state (NORMAL, REDUCING, HALTED) and EMERGENCY posture.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(trading_app, name="trading")
ActorOpt = Annotated[str, typer.Option("--actor", help="Who (recorded).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (recorded).")]


@contextmanager
def _open_desk(db: str | None, existing: bool = False) -> Iterator[RiskDesk]:
    """The desk on the configured store, as the composition root builds it for the
    engine (``bootstrap.build_desk``) — without the broker, so that an operator's
    switch works while the broker is down — closed when the command is done."""
    from ordergate.bootstrap import build_desk

    settings = _settings(db)
    if existing:
        require_database(settings)
    desk = build_desk(settings, build_store(settings))
    try:
        yield desk
    finally:
        desk.store.close()


def _controls_dict(desk: RiskDesk) -> dict[str, Any]:
    c = desk.controls
    return {
        name: {"value": ch.value, "actor": ch.actor, "reason": ch.reason, "at": ch.at.isoformat()}
        for name, ch in (("state", c.state_change), ("posture", c.posture_change))
    }


def _print_controls(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(data)
        return
    for name, ch in data.items():
        typer.echo(f"{name}: {ch['value']} (by {ch['actor']} at {ch['at']}: {ch['reason']})")


@trading_app.command("set")
def trading_set(
    state: Annotated[str, typer.Argument(help="NORMAL, REDUCING or HALTED.")],
    actor: ActorOpt,
    reason: ReasonOpt,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """HALTED: no new orders (cancels pass). REDUCING: only orders that reduce exposure."""
    from ordergate.domain.errors import ConfigError

    def run() -> None:
        with _open_desk(db) as desk:
            try:
                desk.set_trading_state(state, actor=actor, reason=reason)
            except ValueError:
                raise ConfigError(
                    f"unknown trading state {state!r}: NORMAL, REDUCING or HALTED"
                ) from None
            data = _controls_dict(desk)
        _print_controls(data, as_json)

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
        with _open_desk(db) as desk:
            desk.set_posture("EMERGENCY" if on else "NORMAL", actor=actor, reason=reason)
            data = _controls_dict(desk)
        _print_controls(data, as_json)

    _guard(as_json, run)


@trading_app.command("show")
def trading_show(db: DbOption = None, as_json: JsonOption = True) -> None:
    """The trading state and posture, with who set them and why (JSON, like config show)."""

    def run() -> None:
        with _open_desk(db, existing=True) as desk:
            data = _controls_dict(desk)
        emit(data)

    _guard(True, run)


def main() -> None:
    import sys

    from ordergate import _codecache

    # for this process only, as the CLI starts: a library import of ordergate leaves
    # the standard library's compile, exec and eval alone (see _codecache.py)
    _codecache.install()
    try:
        one = _alone(sys.argv[1:])
        if one is None:
            app()
            return
        if sys.argv[1] not in RUNS_LONG:
            _hold_collector()
        # the command alone, as ``app`` would run it: same help, usage and errors
        one(args=sys.argv[2:], prog_name=f"{app.info.name} {sys.argv[1]}")
    finally:
        _codecache.save()  # what this start compiled, for the next one


#: Top-level commands that run for long, with their own memory habits (a backtest
#: freezes what it builds, ``ordergate.heap``): the collector is not held for them.
RUNS_LONG = frozenset({"serve", "backtest", "exchange", "demo"})


def _alone(argv: list[str]) -> typer.Typer | None:
    """A top-level command of ``app`` (``submit``, ``mark`` …) as an app of its own.

    typer builds the whole tree of commands before it runs one — the signatures and
    annotations of ~80 functions, ~25 ms of a one-shot ``ordergate submit``
    (issue 21). A top-level command does not need its siblings; a group (``events``,
    ``risk`` …), ``--help`` and anything unknown go through ``app`` as before.
    """
    if not argv or argv[0].startswith("-"):
        return None
    for info in app.registered_commands:
        callback = info.callback
        name = info.name or (callback and typer.main.get_command_name(callback.__name__))
        if name == argv[0]:
            one = typer.Typer(
                name=app.info.name,
                add_completion=False,  # `ordergate --install-completion` covers the tree
                pretty_exceptions_enable=False,
                rich_markup_mode=None,
            )
            one.registered_commands = [info]
            return one
    return None


def _hold_collector(seconds: float = 1.0) -> None:
    """Keep the cyclic garbage collector off while the process starts.

    Start-up builds a few hundred thousand objects (modules, classes, schemas) that live
    as long as the process; the collector would walk them again and again, ~150 passes
    and a tenth of a one-shot ``submit``'s time (issue 21). It resumes after ``seconds``,
    so a long command (``serve``, a backtest) collects as usual from then on.
    """
    import gc
    import threading

    gc.disable()
    timer = threading.Timer(seconds, gc.enable)
    timer.daemon = True
    timer.start()


if __name__ == "__main__":
    main()
