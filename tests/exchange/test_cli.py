"""``ordergate reconcile --json`` and ``ordergate exchange`` as commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.exchange.server import ExchangeServer
from tests.exchange.test_reconcile import MANUAL


def app() -> typer.Typer:
    from ordergate.cli import app as ordergate

    return ordergate


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


def test_exchange_listens_where_the_adapter_looks() -> None:
    """``ordergate exchange`` with no --port serves the URL ``exchange_url`` defaults to."""
    from urllib.parse import urlsplit

    from ordergate.config import Settings
    from ordergate.exchange.cli import DEFAULT_PORT

    assert urlsplit(Settings().exchange_url).port == DEFAULT_PORT


def test_ordergate_mark_reaches_the_exchange(
    exchange: ExchangeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A market order at a fresh exchange answers "no market" until ``ordergate mark``,
    which now moves the exchange's market as well as the engine's."""
    from ordergate.cli import app as ordergate

    monkeypatch.setenv("ORDERGATE_EXEC_BROKER_ADAPTER", "exchange")
    monkeypatch.setenv("ORDERGATE_EXCHANGE_URL", exchange.url)
    db = str(tmp_path / "og.db")
    runner = CliRunner()
    marked = runner.invoke(ordergate, ["mark", "MSFT", "--last", "400", "--db", db])
    assert marked.exit_code == 0, marked.output
    args = ["submit", "--symbol", "MSFT", "--side", "buy", "--qty", "5", "--key", "x-1"]
    result = runner.invoke(ordergate, [*args, "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "FILLED"
    assert report["avg_price"] is not None
