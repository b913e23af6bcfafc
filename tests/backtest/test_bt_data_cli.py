"""Reading CSV and Parquet, the CLI, TCA and the HTML report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from ordergate.backtest.cli import register
from ordergate.backtest.data import load_events
from ordergate.backtest.tca import OrderCost, aggregate
from ordergate.domain.errors import ConfigError
from ordergate.domain.market import Mark
from ordergate.sim.data import Bar, Quote

D = Decimal
CSV = """timestamp,symbol,open,high,low,close,volume
2026-01-05T14:32:00Z,AAPL,101,102,100.5,101.5,1000
2026-01-05T14:31:00Z,AAPL,100,101.25,99.75,101,1200
2026-01-05T14:33:00,AAPL,101.5,101.5,99,99.5,900
"""


def write_bars(tmp_path: Path, n: int = 60) -> Path:
    lines = ["ts,open,high,low,close,volume"]
    start = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    previous = D(100)
    for i in range(n):
        close = D(100) + D((i * 7) % 23 - 11) / 4
        hi, lo = max(previous, close) + D("0.5"), min(previous, close) - D("0.5")
        ts = (start + timedelta(minutes=i)).isoformat()
        lines.append(f"{ts},{previous},{hi},{lo},{close},5000")
        previous = close
    path = tmp_path / "aapl.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_bars_are_decimal_sorted_and_utc(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(CSV)
    events = load_events(path)
    assert [e.ts.minute for e in events] == [31, 32, 33]
    first = events[0]
    assert isinstance(first, Bar)
    assert first.high == D("101.25")
    assert first.volume == D(1200)
    assert events[2].ts.tzinfo is not None


def test_parquet_quotes(tmp_path: Path) -> None:
    table = pa.table(
        {
            "ts": pa.array([datetime(2026, 1, 5, 14, 30, s, tzinfo=UTC) for s in (1, 0)]),
            "bid": [99.9, 99.8],
            "ask": [100.1, 100.0],
            "ask_size": [500, 400],
        }
    )
    path = tmp_path / "msft.parquet"
    pq.write_table(table, path)
    events = load_events(path)
    assert [type(e) for e in events] == [Quote, Quote]
    first = events[0]
    assert isinstance(first, Quote)
    assert first.symbol == "MSFT"
    assert first.bid == D("99.8")
    assert first.ask_size == D(400)


def test_marks_and_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("time,last,volume\n2026-01-05T14:30:00Z,100.5,10\n")
    (event,) = load_events(path, default_symbol="XYZ")
    assert isinstance(event, Mark)
    assert event.symbol == "XYZ"
    assert event.last == D("100.5")
    path.write_text("when,last\n2026-01-05,1\n")
    with pytest.raises(ConfigError, match="time column"):
        load_events(path)
    with pytest.raises(ConfigError, match="no such data file"):
        load_events(tmp_path / "missing.csv")


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_cli_backtest_json_is_deterministic_and_writes_html(tmp_path: Path) -> None:
    data = write_bars(tmp_path)
    args = [
        "backtest",
        "--data",
        str(data),
        "--strategy",
        "ordergate.backtest.examples:SmaCross",
        "--fill-model",
        "participation",
        "--json",
    ]
    runner = CliRunner()
    first = runner.invoke(_app(), [*args, "--html", str(tmp_path / "r.html")])
    second = runner.invoke(_app(), args)
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    result = json.loads(first.stdout)
    assert result["summary"]["orders"] > 0
    assert result["summary"]["strategy_id"] == "SmaCross"
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!doctype html>")
    assert 'id="equity"' in page  # plotly figures, drawn by the inlined plotly.js
    assert "<script src" not in page  # nothing fetched
    assert "<link" not in page


def test_cli_tca_reads_a_backtest_store(tmp_path: Path) -> None:
    data, db = write_bars(tmp_path), tmp_path / "bt.db"
    runner = CliRunner()
    run = runner.invoke(
        _app(),
        [
            "backtest",
            "--data",
            str(data),
            "--strategy",
            "ordergate.backtest.examples:SmaCross",
            "--db",
            str(db),
            "--summary-only",
            "--json",
        ],
    )
    assert run.exit_code == 0, run.output
    out = runner.invoke(_app(), ["tca", "--db", str(db), "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    summary = json.loads(run.stdout)["summary"]
    assert report["overall"]["orders"] == summary["orders"] - summary["rejected"] > 0
    assert set(report["by_strategy"]) == {"SmaCross"}
    assert set(report["by_symbol"]) == {"AAPL"}


def test_cli_rejects_a_bad_strategy(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        _app(), ["backtest", "--data", str(write_bars(tmp_path)), "--strategy", "nope", "--json"]
    )
    assert out.exit_code == 2
    assert "module:object" in out.stdout


def test_tca_hand_computed() -> None:
    buy = OrderCost(
        order_id="o1",
        strategy_id="s",
        symbol="AAPL",
        side="BUY",
        qty=D(100),
        filled_qty=D(80),
        arrival_price=D(100),
        avg_price=D("100.10"),
        slippage=D("8.0"),
        fees=D(1),
        opportunity=D("10"),  # the 20 unfilled, market ended at 100.50
    )
    row = buy.to_dict()
    assert row["slippage_bps"] == "10"  # 0.10 / 100
    assert row["shortfall"] == "19"
    assert row["shortfall_bps"] == "19"
    total = aggregate([buy])
    assert total["fees_bps"] == "1.25"
    assert total["slippage_bps"] == "10"
