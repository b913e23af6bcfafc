"""The CLI's outputs: a long run with a progress bar, mixed data, exports, DAY expiry,
and every cost flag echoed."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import typer
from typer.testing import CliRunner

from ordergate.backtest.cli import register
from ordergate.backtest.export import ROUND_TRIP_COLUMNS, TRADE_COLUMNS

D = Decimal
START = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:
        """(typer needs two commands to keep sub-command names)"""

    return app


def write_bars(path: Path, n: int, *, step: timedelta = timedelta(minutes=1)) -> Path:
    lines = ["ts,symbol,open,high,low,close,volume"]
    previous = D(100)
    for i in range(n):
        close = D(100) + D((i * 7) % 23 - 11) / 4
        hi, lo = max(previous, close) + D("0.5"), min(previous, close) - D("0.5")
        lines.append(f"{(START + i * step).isoformat()},AAPL,{previous},{hi},{lo},{close},5000")
        previous = close
    path.write_text("\n".join(lines) + "\n")
    return path


def write_quotes(path: Path, n: int) -> Path:
    lines = ["ts,symbol,bid,ask,bid_size,ask_size"]
    for i in range(n):
        mid = D(50) + D(i % 9) / 10
        ts = (START + timedelta(seconds=30 + 60 * i)).isoformat()
        lines.append(f"{ts},MSFT,{mid - D('0.01')},{mid + D('0.01')},400,400")
    path.write_text("\n".join(lines) + "\n")
    return path


def invoke(*args: str) -> dict[str, Any]:
    run = CliRunner().invoke(_app(), ["backtest", *args, "--json"])
    assert run.exit_code == 0, run.output
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def test_a_run_of_20000_events_shows_progress_and_finishes(tmp_path: Path) -> None:
    data = write_bars(tmp_path / "long.csv", 20_500, step=timedelta(seconds=1))
    run = CliRunner().invoke(
        _app(),
        [
            "backtest",
            "--data",
            str(data),
            "--strategy",
            "ordergate.backtest.examples:SmaCross",
            "--summary-only",
        ],
    )
    assert run.exit_code == 0, run.output
    lines = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in
             run.stdout.splitlines() if ":" in line}  # fmt: skip
    assert lines["events"] == "20500"
    assert int(lines["fills"]) > 0


def test_bars_and_quotes_in_one_run_and_the_exports(tmp_path: Path) -> None:
    bars = write_bars(tmp_path / "aapl.csv", 80)
    quotes = write_quotes(tmp_path / "msft.csv", 80)
    trades, trips = tmp_path / "trades.csv", tmp_path / "trips.parquet"
    result = invoke(
        "--data",
        str(bars),
        "--data",
        str(quotes),
        "--strategy",
        "ordergate.backtest.examples:SmaCross",
        "--fee-model",
        "none",
        "--trades",
        str(trades),
        "--round-trips",
        str(trips),
    )
    assert result["summary"]["events"] == 160
    symbols = {f["symbol"] for f in result["fills"]}
    assert symbols == {"AAPL", "MSFT"}
    times = [datetime.fromisoformat(p["ts"]) for p in result["equity_curve"]]
    assert times == sorted(times)
    msft = [f for f in result["fills"] if f["symbol"] == "MSFT"]
    assert msft
    # quotes 0.02 wide around ~50: the mid ± 5 bps (0.025) is beyond the quote, and a
    # fill never lands inside the spread
    with quotes.open() as f:
        book = {datetime.fromisoformat(r["ts"]): r for r in csv.DictReader(f)}
    for fill in msft:
        quote = book[datetime.fromisoformat(fill["ts"])]
        mid = (D(quote["bid"]) + D(quote["ask"])) / 2
        if fill["side"] == "BUY":
            assert D(fill["last_px"]) == mid * D("1.0005") > D(quote["ask"])
        else:
            assert D(fill["last_px"]) == mid * D("0.9995") < D(quote["bid"])
    with trades.open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == TRADE_COLUMNS
    assert [r["price"] for r in rows] == [t["price"] for t in result["trades"]]
    assert len(rows) == len(result["fills"])
    table = pq.read_table(trips)
    assert tuple(table.column_names) == ROUND_TRIP_COLUMNS
    assert table.column("pnl").to_pylist() == [t["pnl"] for t in result["round_trips"]]
    assert result["summary"]["round_trips"] == len(result["round_trips"]) > 0


def test_every_cost_flag_reaches_the_summary(tmp_path: Path) -> None:
    data = write_bars(tmp_path / "aapl.csv", 60)
    result = invoke(
        "--data",
        str(data),
        "--strategy",
        "ordergate.backtest.examples:SmaCross",
        "--fill-model",
        "participation",
        "--participation",
        "0.05",
        "--slippage-bps",
        "2",
        "--lot",
        "10",
        "--fee-model",
        "maker_taker",
        "--fee-maker-bps",
        "-0.5",
        "--fee-taker-bps",
        "3",
        "--latency-ms",
        "7",
        "--jitter-ms",
        "2",
        "--seed",
        "9",
        "--risk-free-rate",
        "0.03",
    )
    config = result["summary"]["config"]
    assert config["participation"] == "0.05"
    assert (config["slippage_bps"], config["lot"]) == ("2", "10")
    assert (config["fee_maker_bps"], config["fee_taker_bps"]) == ("-0.5", "3")
    assert (config["latency_ms"], config["jitter_ms"], config["seed"]) == (7, 2, 9)
    assert result["summary"]["annualisation"]["risk_free_rate"] == "0.03"
    for fill in result["fills"]:
        assert D(fill["last_qty"]) % 10 == 0  # the lot
        assert D(fill["last_qty"]) <= 250  # 5 % of 5,000


def test_session_close_expires_day_orders(tmp_path: Path) -> None:
    data = write_bars(tmp_path / "aapl.csv", 24 * 60, step=timedelta(minutes=1))
    strategy = tmp_path / "day_limit.py"
    strategy.write_text(
        "def on_event(event, ctx):\n"
        "    if event.ts.minute == 0 and event.ts.hour == 15:\n"
        "        return {'symbol': 'AAPL', 'side': 'BUY', 'qty': 1, 'order_type': 'limit',\n"
        "                'limit_price': '1', 'time_in_force': 'DAY'}\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        result = invoke(
            "--data",
            str(data),
            "--strategy",
            "day_limit:on_event",
            "--session-close",
            "16:00",
            "--session-tz",
            "UTC",
            "--no-risk",
        )
    finally:
        sys.path.remove(str(tmp_path))
    (order,) = result["orders"]
    assert order["status"] == "EXPIRED"
    assert result["summary"]["config"]["session_close"] == "16:00 UTC"
