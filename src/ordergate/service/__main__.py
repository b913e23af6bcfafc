"""``python -m ordergate.service serve|audit|purge`` — the service commands on their own."""

from __future__ import annotations

import typer

from ordergate.service.cli import register

app = typer.Typer(name="ordergate-service", no_args_is_help=True, pretty_exceptions_enable=False)
register(app)

if __name__ == "__main__":
    app()
