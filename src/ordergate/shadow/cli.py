"""``ordergate shadow report [--json | --html]``.

:func:`register` adds the ``shadow`` group to the ``ordergate`` Typer app (the lead
wires it in ``cli.py``, handing it the composition root's ``build_store``, which sits
above shadow mode); the engine, the stores and pydantic are imported when the command
runs, not at the CLI's start.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ordergate.config import Settings
    from ordergate.store.base import Store

#: ``build_store(settings)``: the configured store, migrated (``bootstrap.build_store``).
StoreBuilder = Callable[["Settings"], "Store"]

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="The real SQLite file or database URL (default ./ordergate.db)."),
]
ShadowDbOption = Annotated[
    str | None,
    typer.Option(
        "--shadow-db",
        help="The twin's SQLite file or URL (default: shadow_database_url, else the file "
        "beside the real one with .shadow in its name).",
    ),
]


def _url(db: str | None) -> str | None:
    return f"sqlite:///{db}" if db is not None and "://" not in db else db


def _refuse_missing(settings: Settings, what: str) -> None:
    from ordergate.domain.errors import ConfigError

    path = settings.sqlite_path
    if path is not None and path != ":memory:" and not Path(path).exists():
        raise ConfigError(f"no {what} at {path}", context={"database": path})


def register(app: typer.Typer, build_store: StoreBuilder) -> None:
    """Add ``shadow report`` to the ``ordergate`` app; it opens the real and the twin's
    store with ``build_store``."""
    shadow = typer.Typer(
        help="Shadow mode: simulated fills beside the real ones.",
        no_args_is_help=True,
        rich_markup_mode=None,
    )
    app.add_typer(shadow, name="shadow")

    @shadow.command("report")
    def report(
        db: DbOption = None,
        shadow_db: ShadowDbOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        as_html: Annotated[bool, typer.Option("--html", help="Print one HTML page.")] = False,
    ) -> None:
        """Per order and by symbol, side, order type and hour of day: simulated against
        real fill price (bps), time to fill, fill ratio and fees; and the slippage and
        participation settings that would have matched the real fills best."""
        if as_json and as_html:
            typer.echo("choose one of --json and --html", err=True)
            raise typer.Exit(2)
        form = "json" if as_json else "html" if as_html else "text"
        typer.echo(_report(build_store, db, shadow_db, form))


def _report(build_store: StoreBuilder, db: str | None, shadow_db: str | None, form: str) -> str:
    from ordergate.config import load_settings
    from ordergate.domain.errors import OrderGateError
    from ordergate.shadow.links import links_for
    from ordergate.shadow.report import render_html, render_text, report_for
    from ordergate.shadow.twin import shadow_database_url

    try:
        settings = load_settings(
            database_url=_url(db), shadow_database_url=_url(shadow_db), shadow=True
        )
        twin_settings = settings.model_copy(update={"database_url": shadow_database_url(settings)})
        _refuse_missing(settings, "database")
        _refuse_missing(twin_settings, "shadow database (is shadow mode on?)")
        real, twin = build_store(settings), build_store(twin_settings)
    except OrderGateError as exc:
        from ordergate.cli_kit import fail  # as every command prints a rejection

        fail(exc, form == "json")
        raise  # not reached: fail exits
    links = links_for(twin)
    try:
        data: dict[str, Any] = report_for(
            real,
            twin,
            links,
            configured_slippage_bps=settings.slippage_bps,
            timezone=settings.trading_timezone,
        )
    finally:
        links.close()
        twin.close()
        real.close()
    if form == "json":
        return json.dumps(data, indent=2)
    return render_html(data) if form == "html" else render_text(data)
