"""Command-line verbs for risk: ``kill-switch set|clear|list`` and ``plan``.

The lead's CLI calls :func:`register` with a factory that opens the kill switch board
for a ``--db`` path (backed by the store's ``kill_switches`` table)::

    ordergate kill-switch set SYMBOL AAPL --reason "news" --actor alice [--state WARNING]
    ordergate kill-switch clear SYMBOL AAPL --reason "resolved" --actor alice
    ordergate kill-switch list [--all] [--json]
    ordergate plan --targets targets.json [--positions pos.json] [--prices px.json]
                   [--equity 100000] [--lot 1] [--min-qty 0] [--json]

``plan`` is pure: it prints the orders a target file implies and sends nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ordergate.domain.enums import TradingMode
from ordergate.domain.errors import OrderGateError
from ordergate.domain.money import parse_decimal
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.plan import apply_execution_plan
from ordergate.engine.planner import parse_targets
from ordergate.risk.killswitch import ANY, KillSwitch, KillSwitchBoard

#: ``--db`` path (or ``None`` for the configured one) → the board on that store.
BoardFactory = Callable[[str | None], KillSwitchBoard]

DbOption = Annotated[str | None, typer.Option("--db", help="Database path or URL")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded)")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who (recorded)")]


def register(
    app: typer.Typer,
    board_factory: BoardFactory,
    engine_factory: Callable[[str | None], ExecutionEngine],
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
        _run(
            as_json, lambda: board_factory(db).set(kind, target, state, reason=reason, actor=actor)
        )

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
        _run(as_json, lambda: board_factory(db).clear(kind, target, reason=reason, actor=actor))

    @switches.command("list")
    def list_switches(
        include_off: Annotated[bool, typer.Option("--all", help="Include OFF switches")] = False,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """List kill switches in force."""
        rows = board_factory(db).list(include_off=include_off)
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
        try:
            raw = targets.read_bytes()
            result = apply_execution_plan(
                engine_factory(db),
                parse_targets(json.loads(raw)),
                mode=settings_mode(db),
                plan_id=plan_id or "plan-" + hashlib.sha256(raw).hexdigest()[:16],
                execute=execute,
                equity=None if equity is None else parse_decimal(equity, "equity"),
                lot_size=parse_decimal(lot, "lot", positive=True),
                min_qty=parse_decimal(min_qty, "min_qty"),
            )
        except (OrderGateError, OSError, ValueError) as exc:
            message = exc.message if isinstance(exc, OrderGateError) else str(exc)
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(2) from None
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2))
            return
        for order in result.orders:
            row = order.to_dict()
            typer.echo(
                f"{row['action']:<10} {row['side']:<4} {row['qty']:>12} {row['symbol']}"
                f"  ({row['current_qty']} -> {row['target_qty']})"
            )
        for report in result.reports:
            typer.echo(f"  {report.order_id} {report.status.value}")


def _run(as_json: bool, action: Callable[[], KillSwitch]) -> None:
    try:
        switch = action()
    except OrderGateError as exc:
        typer.echo(json.dumps(exc.to_dict()) if as_json else f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(switch.to_dict(), indent=2) if as_json else _line(switch))


def _line(switch: KillSwitch) -> str:
    return (
        f"{switch.kind.value}:{switch.target} {switch.state.value} by {switch.actor} "
        f"at {switch.updated_at.isoformat()}: {switch.reason}"
    )


__all__ = ["BoardFactory", "register"]
