"""What every command-line group shares: the ``--db`` and ``--json`` options, how a
refusal is printed, and how a command that only reads refuses a database that does not
exist.

A refusal prints its error code once: ``--json`` puts ``{"error": {...}}`` (code,
message, retryable, context) on stdout and nothing else; without it, ``CODE: message``
goes to stderr. The exit status is 3 when retrying later can help, 2 otherwise.

The groups (``engine/algos_cli.py``, ``engine/reconcile_cli.py``, ``risk/cli.py`` …)
open no store and build no engine themselves: ``cli.py``, the composition of the
commands, hands each group the openers it needs, so a group sits beside the part it
speaks for without importing the composition root (``bootstrap``), which is above it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ordergate.domain.errors import OrderGateError

if TYPE_CHECKING:
    from ordergate.config import Settings

DbOption = Annotated[str | None, typer.Option("--db", help="SQLite file or database URL.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]

#: ``opener(db, **parts)``: the configured engine on ``--db`` (or the configured
#: database), its store closed on exit; ``parts`` as ``bootstrap.build_engine`` takes them.
EngineOpener = Callable[..., AbstractContextManager[Any]]
#: ``opener(db)``: the configured store on ``--db``, closed on exit.
StoreOpener = Callable[[str | None], AbstractContextManager[Any]]


def emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def message(code: str, text: str | None) -> str:
    """``text`` without a leading copy of ``code`` (gates write ``CODE: context``)."""
    shown = (text or "").removeprefix(f"{code}: ")
    return "" if shown == code else shown


def fail(exc: OrderGateError, as_json: bool) -> NoReturn:
    """Print a refusal once (its code, then its message) and exit 2 (3: retry later)."""
    if as_json:
        emit({"error": exc.to_dict()})
    else:
        typer.echo(f"{exc.code.name}: {message(exc.code.name, exc.message)}", err=True)
    raise typer.Exit(3 if exc.retryable else 2) from None


def guarded(as_json: bool, action: Callable[[], None]) -> None:
    """Run ``action``; a refusal it raises is printed by :func:`fail`."""
    try:
        action()
    except OrderGateError as exc:
        fail(exc, as_json)


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
