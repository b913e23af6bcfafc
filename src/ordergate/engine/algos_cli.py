"""``ordergate algos``: parent orders (execution algorithms) from the command line.

::

    ordergate algos submit '{"idempotency_key": "p1", "symbol": "AAPL", "side": "BUY",
                             "qty": "1000", "algo": {"kind": "twap", "horizon_s": 600,
                             "slices": 10}}'
    ordergate algos list [--limit N] [--json]
    ordergate algos show PARENT_ID [--json]        # progress, TCA and children
    ordergate algos cancel PARENT_ID [--json]
    ordergate algos modify PARENT_ID [--qty Q] [--limit-price P] [--json]

Every command takes ``--db``. The parent's children are sent by the engine that serves
(``ordergate serve`` ticks the algo desk); a command here records and steers. A
refusal prints its error code and exits 2 (3 when a retry can help).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ordergate.cli_kit import DbOption, EngineOpener, JsonOption, guarded
from ordergate.domain.errors import InvalidIntent

app = typer.Typer(
    help="Parent orders: TWAP, VWAP, POV and iceberg, with their children.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_engines: list[EngineOpener] = []


def register(parent: typer.Typer, engine: EngineOpener, recorded: EngineOpener) -> None:
    """Add ``ordergate algos`` to ``parent``; ``engine(db)`` opens the configured engine,
    ``recorded(db)`` the same for a command about parents already recorded (it refuses a
    database that does not exist instead of creating an empty one)."""
    _engines[:] = [engine, recorded]
    parent.add_typer(app, name="algos")


def _open(db: str | None) -> Any:
    return _engines[0](db)


def _open_recorded(db: str | None) -> Any:
    return _engines[1](db)


def _line(view: dict[str, Any]) -> str:
    algo = view["algo"] or {}
    return (
        f"{view['parent_id']} {algo.get('kind', '?')} {view['side']} {view['qty']} "
        f"{view['symbol']} {view['status']}: filled {view['filled']}, working "
        f"{view['working']}, left {view['left']}, deviation {view['deviation'] or '-'}"
    )


def _show(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(view, indent=2))
        return
    typer.echo(_line(view))
    tca = view["tca"]
    typer.echo(
        f"  avg {tca['avg_price'] or '-'}; arrival {tca['arrival_price'] or '-'} "
        f"({tca['vs_arrival_bps'] or '-'} bps); interval VWAP {tca['interval_vwap'] or '-'} "
        f"({tca['vs_vwap_bps'] or '-'} bps)"
    )
    for child in view["children"]:
        typer.echo(
            f"  slice {child['slice']}: {child['order_id']} {child['qty']} "
            f"{child['status']} filled {child['filled']} at {child['avg_price'] or '-'}"
        )


@app.command("submit")
def submit_cmd(
    intent: Annotated[str, typer.Argument(help="The intent as JSON, with its algo block.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a parent order (idempotent by its key); the serving engine works it."""

    def run() -> None:
        try:
            data = json.loads(intent)
        except json.JSONDecodeError as exc:
            raise InvalidIntent("intent", f"is not JSON: {exc.msg}") from None
        if not isinstance(data, dict) or data.get("algo") is None:
            raise InvalidIntent("algo", "a parent order needs an algo block")
        with _open(db) as engine:
            report = engine.submit(data)
        _show(report.extra["algo"], as_json)

    guarded(as_json, run)


@app.command("list")
def list_cmd(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The latest parents with their progress."""

    def run() -> None:
        with _open_recorded(db) as engine:
            views = engine.algos.list(limit)
        if as_json:
            typer.echo(json.dumps({"parents": views}, indent=2))
            return
        for view in views:
            typer.echo(_line(view))
        if not views:
            typer.echo("no parent orders")

    guarded(as_json, run)


@app.command("show")
def show_cmd(parent_id: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """One parent: progress, deviation from its schedule, TCA and its children."""

    def run() -> None:
        with _open_recorded(db) as engine:
            view = engine.algos.view(parent_id)
        _show(view, as_json)

    guarded(as_json, run)


@app.command("cancel")
def cancel_cmd(parent_id: str, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Cancel a parent: no new child, its working children canceled."""

    def run() -> None:
        with _open_recorded(db) as engine:
            report = engine.algos.cancel(parent_id)
        _show(report.extra["algo"], as_json)

    guarded(as_json, run)


@app.command("modify")
def modify_cmd(
    parent_id: str,
    qty: Annotated[str | None, typer.Option(help="The new total quantity.")] = None,
    limit_price: Annotated[str | None, typer.Option(help="The new limit.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a parent's total quantity (not below what has filled) or limit."""

    def run() -> None:
        with _open_recorded(db) as engine:
            report = engine.algos.modify(parent_id, qty=qty, limit_price=limit_price)
        _show(report.extra["algo"], as_json)

    guarded(as_json, run)


__all__ = ["app", "register"]
