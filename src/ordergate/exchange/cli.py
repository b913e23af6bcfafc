"""Command-line entry points of this package: ``exchange`` and ``reconcile``.

:func:`register` adds them to the ``ordergate`` Typer app (the lead wires it in
``cli.py``), so the HTTP server code is imported only when ``exchange`` runs.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

#: Where ``exchange_url``'s default looks (``http://127.0.0.1:8700``); a test keeps them equal.
DEFAULT_PORT = 8700


def register(app: typer.Typer) -> None:
    app.command("exchange")(exchange)
    app.command("reconcile")(reconcile_cmd)


def exchange(
    port: Annotated[
        int,
        typer.Option(help="TCP port (0: any free one); the adapter's exchange_url looks at 8700."),
    ] = DEFAULT_PORT,
    db: Annotated[Path, typer.Option(help="The exchange's own SQLite file.")] = Path("exchange.db"),
    host: Annotated[str, typer.Option(help="Address to listen on (loopback).")] = "127.0.0.1",
    faults: Annotated[str, typer.Option(help="Fault knobs as JSON (see faults.py).")] = "{}",
) -> None:
    """Run the simulated exchange as its own process (state kept in --db)."""
    from ordergate.exchange.faults import FaultKnobs
    from ordergate.exchange.server import serve

    server = serve(host, port, db, FaultKnobs.parse(json.loads(faults)))

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    typer.echo(json.dumps({"listening": server.url, "db": str(db)}), err=False)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def reconcile_cmd(
    db: Annotated[str | None, typer.Option("--db", help="SQLite file or database URL.")] = None,
    exchange_url: Annotated[
        str | None, typer.Option(help="Reconcile against the exchange at this URL.")
    ] = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare orders, positions and SL/TP with the broker; list every mismatch.

    Exits 1 when a mismatch needs a person (``requires_manual_resolution``)."""
    from ordergate.bootstrap import build_engine
    from ordergate.brokers.exchange import ExchangeBroker
    from ordergate.config import load_settings
    from ordergate.engine.reconcile import reconcile

    if db is not None and "://" not in db:
        db = f"sqlite:///{db}"
    settings = load_settings(database_url=db)
    broker = None
    if exchange_url:
        broker = ExchangeBroker(exchange_url, stream=False, account_id=account)
    engine = build_engine(settings, broker=broker)
    try:
        report = reconcile(engine, account_id=account)
    finally:
        engine.store.close()
    data = report.to_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(f"{data['status']}: {len(data['mismatches'])} mismatch(es)")
        for m in data["mismatches"]:
            typer.echo(f"  {m['kind']}: {m['message']}")
    if report.requires_manual_resolution:
        raise typer.Exit(1)
