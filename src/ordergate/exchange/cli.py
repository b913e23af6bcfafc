"""The command-line entry point of this package: ``exchange``.

:func:`register` adds it to the ``ordergate`` Typer app (the lead wires it in
``cli.py``), so the HTTP server code is imported only when ``exchange`` runs.
``ordergate reconcile`` is the engine's (``engine/reconcile_cli.py``), registered by
``cli.py`` beside it.
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
