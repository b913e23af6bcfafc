"""``ordergate reconcile --json`` and ``ordergate exchange`` as commands."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.exchange.cli import register
from ordergate.exchange.server import ExchangeServer
from tests.exchange.test_reconcile import MANUAL


def app() -> typer.Typer:
    cli = typer.Typer()
    register(cli)
    return cli


def test_reconcile_json_against_the_exchange(
    exchange: ExchangeServer, broker: ExchangeBroker, tmp_path: Path
) -> None:
    db = tmp_path / "cli.db"
    args = ["reconcile", "--json", "--db", str(db), "--exchange-url", exchange.url]
    result = CliRunner().invoke(app(), args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "MATCHED"

    broker.submit(MANUAL)  # the account now holds a position the engine never made
    result = CliRunner().invoke(app(), args)
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["status"] == "PHANTOM_POSITION"
    assert data["requires_manual_resolution"] is True


def test_exchange_command_help() -> None:
    result = CliRunner().invoke(app(), ["exchange", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output
