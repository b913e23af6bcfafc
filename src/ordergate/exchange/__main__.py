"""``python -m ordergate.exchange --port N --db FILE``: the exchange without the full CLI."""

from __future__ import annotations

import typer

from ordergate.exchange.cli import exchange

if __name__ == "__main__":
    typer.run(exchange)
