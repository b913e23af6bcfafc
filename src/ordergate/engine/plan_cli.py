"""``ordergate plan``: the orders that take the positions to their targets.

::

    ordergate plan --targets targets.json [--equity 100000] [--lot 1] [--min-qty 0]
                   [--plan-id ID] [--execute] [--json]

``plan`` previews the orders a target file implies and sends nothing; ``--execute``
sends them. When the positions are already at their targets it says there is nothing to
do. It is the engine's (``engine/plan.py``); ``cli.py`` registers it with the opener of
the configured engine and the configured trading mode.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ordergate.cli_kit import DbOption, EngineOpener, JsonOption, fail

if TYPE_CHECKING:
    from ordergate.domain.enums import TradingMode


def register(
    app: typer.Typer,
    engine_factory: EngineOpener,
    settings_mode: Callable[[str | None], TradingMode],
) -> None:
    """Add ``plan`` to ``app``."""

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
    engine_factory: EngineOpener,
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
        fail(exc, as_json)
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


__all__ = ["register"]
