"""What every ``ordergate`` command does alike: how a rejection is printed and how a
command that only reads refuses a database that does not exist.

A rejection prints its error code once: ``--json`` puts ``{"error": {...}}`` (code,
message, retryable, context) on stdout and nothing else; without it, ``CODE: message``
goes to stderr. The exit status is 3 when retrying later can help, 2 otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ordergate.config import Settings
    from ordergate.domain.errors import OrderGateError


def emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def message(code: str, text: str | None) -> str:
    """``text`` without a leading copy of ``code`` (gates write ``CODE: context``)."""
    shown = (text or "").removeprefix(f"{code}: ")
    return "" if shown == code else shown


def fail(exc: OrderGateError, as_json: bool) -> None:
    """Print ``exc`` as every command does and exit (3: retry later can help; else 2)."""
    if as_json:
        emit({"error": exc.to_dict()})
    else:
        from rich.console import Console
        from rich.markup import escape

        text = escape(message(exc.code.name, exc.message))  # keeps 'ordergate[postgres]'
        console = Console(stderr=True, highlight=False, soft_wrap=True)
        console.print(f"[red]{exc.code.name}[/red]: {text}")
    raise typer.Exit(3 if exc.retryable else 2)


def require_database(settings: Settings) -> None:
    """A read command on a SQLite file that does not exist says so and creates nothing."""
    from ordergate.domain.errors import ConfigError

    path = settings.sqlite_path
    if path is not None and path != ":memory:" and not Path(path).exists():
        raise ConfigError(
            f"no database at {path}: nothing has been recorded there yet "
            "(give --db PATH or set ORDERGATE_DATABASE_URL)",
            context={"database": path},
        )
