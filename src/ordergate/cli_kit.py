"""What every command-line group shares: the ``--db`` and ``--json`` options, and how
a refusal is printed (its error code once, then its message; exit 2, or 3 when a
retry can help).

The groups (``engine/algos_cli.py``, ``engine/reconcile_cli.py``, ``risk/cli.py`` …)
open no store and build no engine themselves: ``cli.py``, the composition of the
commands, hands each group the openers it needs, so a group sits beside the part it
speaks for without importing the composition root (``bootstrap``), which is above it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any, NoReturn

import typer

from ordergate.domain.errors import OrderGateError

DbOption = Annotated[str | None, typer.Option("--db", help="SQLite file or database URL.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]

#: ``opener(db, **parts)``: the configured engine on ``--db`` (or the configured
#: database), its store closed on exit; ``parts`` as ``bootstrap.build_engine`` takes them.
EngineOpener = Callable[..., AbstractContextManager[Any]]
#: ``opener(db)``: the configured store on ``--db``, closed on exit.
StoreOpener = Callable[[str | None], AbstractContextManager[Any]]


def fail(exc: OrderGateError, as_json: bool) -> NoReturn:
    """Print a refusal once (its code, then its message) and exit 2 (3: retry later)."""
    if as_json:
        typer.echo(json.dumps({"error": exc.to_dict()}, indent=2))
    else:
        typer.echo(f"{exc.code.name}: {exc.message}", err=True)
    raise typer.Exit(3 if exc.retryable else 2) from None


def guarded(as_json: bool, action: Callable[[], None]) -> None:
    """Run ``action``; a refusal it raises is printed by :func:`fail`."""
    try:
        action()
    except OrderGateError as exc:
        fail(exc, as_json)
