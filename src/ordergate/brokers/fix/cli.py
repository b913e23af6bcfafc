"""``ordergate fix-acceptor``: the FIX counterparty as its own process.

This module imports neither QuickFIX nor the acceptor until the command runs, so the
``ordergate`` command works without the extra ``fix``. The lead wires it in
``cli.py``: ``app.add_typer(fix_cli.app, name="fix-acceptor")``.
"""

from __future__ import annotations

import logging
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="A FIX 4.4 counterparty (a QuickFIX acceptor) for tests and trials.")


@app.callback(invoke_without_command=True)
def fix_acceptor(
    port: Annotated[int, typer.Option(help="SocketAcceptPort.")] = 9878,
    sender: Annotated[str, typer.Option(help="The acceptor's SenderCompID.")] = "ACCEPTOR",
    target: Annotated[str, typer.Option(help="The initiator's SenderCompID.")] = "ORDERGATE",
    mark: Annotated[
        list[str] | None, typer.Option(help="SYMBOL=PRICE, repeatable (AAPL=100, MSFT=250).")
    ] = None,
    commission: Annotated[str, typer.Option(help="Commission per fill.")] = "0",
    password: Annotated[
        str | None, typer.Option(envvar="ORDERGATE_FIX_ACCEPTOR_PASSWORD", help="Required 554.")
    ] = None,
    directory: Annotated[Path | None, typer.Option(help="Its store and settings file.")] = None,
    state: Annotated[Path | None, typer.Option(help="Write the book here as JSON.")] = None,
    verbose: Annotated[bool, typer.Option(help="Log every message (masked) to stderr.")] = False,
) -> None:
    """Run the acceptor until interrupted (prints {"listening": PORT} when up).

    QuickFIX 1.16 binds every network interface: run it where only trusted networks
    (or only loopback) reach the port."""
    try:
        from ordergate.brokers.fix import acceptor
    except ImportError as exc:
        typer.echo(f"the fix acceptor needs the extra 'fix' (pip install 'ordergate[fix]'): {exc}")
        raise typer.Exit(2) from exc
    import structlog  # loaded when the command runs: ``ordergate --help`` stays fast

    # stdout carries one JSON line only; the log goes to stderr
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if verbose else logging.WARNING
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    typer.echo(f"warning: {acceptor.BINDS_EVERY_INTERFACE}", err=True)
    acceptor.serve(
        acceptor.Acceptor(
            port,
            marks=acceptor.parse_marks(mark or ["AAPL=100", "MSFT=250"]),
            sender=sender,
            target=target,
            directory=directory,
            commission=Decimal(commission),
            password=password,
            state_file=state,
        )
    )
