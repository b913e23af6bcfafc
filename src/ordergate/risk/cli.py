"""Command-line verbs for risk: ``kill-switch set|clear|list`` and ``plan``.

The lead's CLI calls :func:`register` with a factory that opens the kill switch board
for a ``--db`` path (backed by the store's ``kill_switches`` table)::

    ordergate kill-switch set SYMBOL AAPL --reason "news" --actor alice [--state WARNING]
    ordergate kill-switch clear SYMBOL AAPL --reason "resolved" --actor alice
    ordergate kill-switch list [--all] [--json]
    ordergate plan --targets targets.json [--positions pos.json] [--prices px.json]
                   [--equity 100000] [--lot 1] [--min-qty 0] [--json]

``plan`` previews the orders a target file implies and sends nothing; ``--execute``
sends them. When the positions are already at their targets it says there is nothing to
do. Factories hand out context managers: what they open is closed when the command ends.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:  # the engine is imported by the command that runs, not at start-up
    from ordergate.domain.enums import TradingMode
    from ordergate.engine.engine import ExecutionEngine
    from ordergate.risk.killswitch import KillSwitch, KillSwitchBoard

#: Every kind and target, as ``ordergate.risk.killswitch.ANY``.
ANY = "*"

#: (``--db`` path or ``None`` for the configured one, the database must exist already)
#: → the board on that store, closed on exit.
BoardFactory = Callable[[str | None, bool], AbstractContextManager["KillSwitchBoard"]]
EngineFactory = Callable[[str | None], AbstractContextManager["ExecutionEngine"]]

DbOption = Annotated[str | None, typer.Option("--db", help="Database path or URL")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded)")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who (recorded)")]


def register(
    app: typer.Typer,
    board_factory: BoardFactory,
    engine_factory: EngineFactory,
    settings_mode: Callable[[str | None], TradingMode],
) -> None:
    """Add ``kill-switch`` (a sub-app) and ``plan`` to ``app``."""
    switches = typer.Typer(help="Set, clear and list kill switches.", no_args_is_help=True)
    app.add_typer(switches, name="kill-switch")

    @switches.command("set")
    def set_switch(
        kind: Annotated[str, typer.Argument(help="GLOBAL|SYMBOL|STRATEGY|RISK_LIMIT|MANUAL")],
        target: Annotated[str, typer.Argument(help="symbol, strategy, label or *")] = ANY,
        reason: ReasonOption = "",
        actor: ActorOption = "",
        state: Annotated[str, typer.Option("--state", help="ACTIVE or WARNING")] = "ACTIVE",
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Set a kill switch (ACTIVE rejects new orders; WARNING lets them through)."""

        def action() -> KillSwitch:
            with board_factory(db, False) as board:
                return board.set(kind, target, state, reason=reason, actor=actor)

        _run(as_json, action)

    @switches.command("clear")
    def clear_switch(
        kind: Annotated[str, typer.Argument(help="GLOBAL|SYMBOL|STRATEGY|RISK_LIMIT|MANUAL")],
        target: Annotated[str, typer.Argument(help="symbol, strategy, label or *")] = ANY,
        reason: ReasonOption = "",
        actor: ActorOption = "",
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Turn a kill switch OFF (who and why are recorded)."""

        def action() -> KillSwitch:
            with board_factory(db, True) as board:
                return board.clear(kind, target, reason=reason, actor=actor)

        _run(as_json, action)

    @switches.command("list")
    def list_switches(
        include_off: Annotated[bool, typer.Option("--all", help="Include OFF switches")] = False,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """List kill switches in force."""
        from ordergate.domain.errors import OrderGateError

        try:
            with board_factory(db, True) as board:
                rows = board.list(include_off=include_off)
        except OrderGateError as exc:
            _error(exc, as_json)
        if as_json:
            typer.echo(json.dumps([row.to_dict() for row in rows], indent=2))
            return
        if not rows:
            typer.echo("no kill switch in force")
        for row in rows:
            typer.echo(_line(row))

    @app.command("plan")
    def plan(
        targets: Annotated[Path, typer.Option("--targets", help="JSON file of targets")],
        execute: Annotated[bool, typer.Option("--execute", help="Submit the orders")] = False,
        plan_id: Annotated[str | None, typer.Option("--plan-id", help="Idempotency base")] = None,
        equity: Annotated[str | None, typer.Option(help="Equity for weight targets")] = None,
        lot: Annotated[str, typer.Option(help="Lot size")] = "1",
        min_qty: Annotated[str, typer.Option("--min-qty", help="Smallest order")] = "0",
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Plan the orders that take the positions to the targets; --execute sends them.

        Positions and prices are the engine's own (its store and marks). The same
        --plan-id never trades twice (default: a hash of the targets file).
        """
        _plan(
            engine_factory,
            settings_mode,
            db,
            targets,
            execute,
            plan_id,
            equity,
            lot,
            min_qty,
            as_json,
        )


def _plan(
    engine_factory: EngineFactory,
    settings_mode: Callable[[str | None], TradingMode],
    db: str | None,
    targets: Path,
    execute: bool,
    plan_id: str | None,
    equity: str | None,
    lot: str,
    min_qty: str,
    as_json: bool,
) -> None:
    from ordergate.domain.errors import ConfigError, OrderGateError
    from ordergate.domain.money import parse_decimal
    from ordergate.engine.plan import apply_execution_plan
    from ordergate.engine.planner import parse_targets

    try:
        try:
            raw = targets.read_bytes()
            parsed = parse_targets(json.loads(raw))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the targets file {targets}: {exc}") from None
        with engine_factory(db) as engine:
            result = apply_execution_plan(
                engine,
                parsed,
                mode=settings_mode(db),
                plan_id=plan_id or "plan-" + hashlib.sha256(raw).hexdigest()[:16],
                execute=execute,
                equity=None if equity is None else parse_decimal(equity, "equity"),
                lot_size=parse_decimal(lot, "lot", positive=True),
                min_qty=parse_decimal(min_qty, "min_qty"),
            )
    except OrderGateError as exc:
        _error(exc, as_json)
    if as_json:
        data = result.to_dict()
        if not result.orders:
            data["note"] = "nothing to do: every position is at its target"
        typer.echo(json.dumps(data, indent=2))
        return
    if not result.orders:
        typer.echo("nothing to do: every position is at its target")
    elif not execute:
        typer.echo(f"{len(result.orders)} order(s) planned; --execute sends them")
    for order in result.orders:
        row = order.to_dict()
        typer.echo(
            f"{row['action']:<10} {row['side']:<4} {row['qty']:>12} {row['symbol']}"
            f"  ({row['current_qty']} -> {row['target_qty']})"
        )
    for report in result.reports:
        typer.echo(f"  {report.order_id} {report.status.value}")


def _error(exc: Exception, as_json: bool) -> NoReturn:
    """Print an error once (its code, then its message) and exit 2 (3: retry later)."""
    from ordergate.domain.errors import OrderGateError

    if not isinstance(exc, OrderGateError):
        raise exc
    if as_json:
        typer.echo(json.dumps({"error": exc.to_dict()}, indent=2))
    else:
        typer.echo(f"{exc.code.name}: {exc.message}", err=True)
    raise typer.Exit(3 if exc.retryable else 2) from None


def _run(as_json: bool, action: Callable[[], KillSwitch]) -> None:
    from ordergate.domain.errors import OrderGateError

    try:
        switch = action()
    except OrderGateError as exc:
        _error(exc, as_json)
    typer.echo(json.dumps(switch.to_dict(), indent=2) if as_json else _line(switch))


def _line(switch: KillSwitch) -> str:
    return (
        f"{switch.kind.value}:{switch.target} {switch.state.value} by {switch.actor} "
        f"at {switch.updated_at.isoformat()}: {switch.reason}"
    )


__all__ = ["BoardFactory", "register"]
