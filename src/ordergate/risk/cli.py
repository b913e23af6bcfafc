"""Command-line verbs for risk: ``kill-switch set|clear|list``.

The lead's CLI calls :func:`register` with a factory that opens the kill switch board
for a ``--db`` path (backed by the store's ``kill_switches`` table)::

    ordergate kill-switch set SYMBOL AAPL --reason "news" --actor alice [--state WARNING]
    ordergate kill-switch clear SYMBOL AAPL --reason "resolved" --actor alice
    ordergate kill-switch list [--all] [--json]

The factory hands out a context manager: what it opens is closed when the command
ends. (``ordergate plan`` is the engine's: ``engine/plan_cli.py``.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:  # the board is imported by the command that runs, not at start-up
    from ordergate.domain.errors import OrderGateError
    from ordergate.risk.killswitch import KillSwitch, KillSwitchBoard

#: Every kind and target, as ``ordergate.risk.killswitch.ANY``.
ANY = "*"

#: (``--db`` path or ``None`` for the configured one, the database must exist already)
#: → the board on that store, closed on exit.
BoardFactory = Callable[[str | None, bool], AbstractContextManager["KillSwitchBoard"]]

DbOption = Annotated[str | None, typer.Option("--db", help="Database path or URL")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded)")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who (recorded)")]


def register(app: typer.Typer, board_factory: BoardFactory) -> None:
    """Add ``kill-switch`` (a sub-app) to ``app``."""
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


def _error(exc: OrderGateError, as_json: bool) -> NoReturn:
    """Print an error once (its code, then its message) and exit 2 (3: retry later)."""
    from ordergate.cli_kit import fail

    fail(exc, as_json)


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
