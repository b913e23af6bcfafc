"""The summary figures against a hand computation, round trips, rejections, and a
cross-check of fills and P&L against an independent computation."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from btkit import bars, wave

from ordergate.backtest.roundtrips import RoundTrips
from ordergate.backtest.runner import BacktestConfig, BacktestRunner
from ordergate.backtest.strategy import StrategyContext
from ordergate.config import load_settings
from ordergate.domain.market import Mark
from ordergate.risk.config import RiskConfig
from ordergate.risk.limits import InstrumentLimits, InstrumentSpec
from ordergate.sim.data import Bar, MarketEvent

D = Decimal
MONDAY = datetime(2026, 1, 5, 21, 0, tzinfo=UTC)


def test_summary_figures_match_a_hand_computation() -> None:
    # five weekday closes; buy 100 on the first, filled at the second (100, no costs)
    prices = ["100", "100", "110", "99", "121"]
    marks = [
        Mark(symbol="AAPL", last=D(p), volume=D(10_000), ts=MONDAY + timedelta(days=i))
        for i, p in enumerate(prices)
    ]
    done: list[bool] = []

    def buy_once(event: MarketEvent, ctx: StrategyContext) -> Any:
        if done:
            return None
        done.append(True)
        return {"symbol": "AAPL", "side": "BUY", "qty": 100}

    config = BacktestConfig(fill_model="none", fee_model="none", starting_cash=D(10_000))
    # all in: no gate of buying power in the way of the hand computation
    no_gates = load_settings(risk_enabled=False)
    summary = BacktestRunner(config, settings=no_gates).run(marks, buy_once).summary
    # equity: 10,000 10,000 11,000 9,900 12,100
    returns = [0.0, 0.1, -0.1, 12_100 / 9_900 - 1]
    mean = sum(returns) / 4
    sd = math.sqrt(sum((r - mean) ** 2 for r in returns) / 3)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / 4)
    assert summary["total_return"] == 0.21
    assert summary["sharpe"] == round(mean / sd * math.sqrt(252), 6)
    assert summary["sortino"] == round(mean / downside * math.sqrt(252), 6)
    assert summary["annualisation"]["periods_per_year"] == 252
    assert summary["annualisation"]["risk_free_rate"] == "0"
    assert summary["cagr"] == round(1.21 ** (365.25 / 4) - 1, 6)
    assert summary["max_drawdown_pct"] == 0.1  # 11,000 -> 9,900
    assert summary["max_drawdown_duration"] == "2 days, 0:00:00"  # Wednesday to Friday
    assert summary["exposure"] == 0.8  # a position at 4 of 5 timestamps
    assert summary["turnover"] == round(10_000 / 10_600, 6)  # traded / mean equity
    assert summary["round_trips"] == 0  # still open


def test_a_risk_free_rate_and_24_7_data_change_the_annualisation() -> None:
    marks = [
        Mark(symbol="BTC", last=D(100 + (i % 3)), volume=D(10), ts=MONDAY + timedelta(hours=i))
        for i in range(24 * 7)
    ]
    config = BacktestConfig(fill_model="none", fee_model="none", risk_free_rate=D("0.04"))
    summary = BacktestRunner(config).run(marks, lambda e, c: None).summary
    assert summary["annualisation"]["periods_per_year"] == 365 * 24
    assert "24/7" in summary["annualisation"]["basis"]
    assert summary["annualisation"]["risk_free_rate"] == "0.04"
    assert summary["sharpe"] is None  # flat equity: no deviation to divide by


def test_round_trips_split_a_reversal_and_count_wins_and_losses() -> None:
    trips = RoundTrips()
    trips.on_fill("A", "BUY", D(100), D(10), D(1), "t1")
    trips.on_fill("A", "SELL", D(150), D(12), D("1.5"), "t2")  # closes 100, opens 50 short
    trips.on_fill("A", "BUY", D(50), D(13), D("0.5"), "t3")  # the short loses 50
    first, second = trips.rows()
    assert (first["direction"], first["qty"], first["pnl"]) == ("LONG", "100", "198")  # 200 - 2
    assert (second["direction"], second["gross_pnl"], second["pnl"]) == ("SHORT", "-50", "-51")
    assert (first["opened"], first["closed"], second["opened"]) == ("t1", "t2", "t2")
    stats = trips.stats()
    assert (stats["round_trips"], stats["win_rate"]) == (2, "0.5")
    assert stats["profit_factor"] == str((D(198) / D(51)).quantize(D("0.0001")))


def test_rejections_by_code_with_the_first_message_and_a_warning() -> None:
    risk = RiskConfig(limits=InstrumentLimits(default=InstrumentSpec(max_qty=D(50))))
    sizes = iter([10, 80, 90, 20] * 50)

    def orders(event: MarketEvent, ctx: StrategyContext) -> Any:
        return {"symbol": event.symbol, "side": "BUY", "qty": next(sizes)}

    result = BacktestRunner(BacktestConfig(), risk=risk).run(bars(wave(40)), orders)
    rejections = result.summary["rejections"]
    (code,) = rejections
    assert code.startswith("E_RISK_")
    assert rejections[code]["count"] == 20
    assert "80" in rejections[code]["first_message"]
    (warning,) = result.summary["warnings"]
    assert "refused 20 of 40 orders (50.0 %)" in warning
    assert code in warning


def test_fills_and_pnl_agree_with_an_independent_computation() -> None:
    """Buy 100 at every 5th bar's decision, sell it 3 bars later: each order fills at the
    next bar's open ± 5 bps, per-share fees (0.005, min 1, max 1 %)."""
    data = bars(wave(200))
    seen = iter(range(len(data)))

    def strategy(event: MarketEvent, ctx: StrategyContext) -> Any:
        i = next(seen)
        if i % 5 == 0:
            return {"symbol": "AAPL", "side": "BUY", "qty": 100}
        if i % 5 == 3:
            return {"symbol": "AAPL", "side": "SELL", "qty": 100}
        return None

    config = BacktestConfig(fill_model="fixed_bps", fee_model="per_share", starting_cash=D(10**6))
    result = BacktestRunner(config, settings=load_settings(risk_enabled=False)).run(data, strategy)
    expected: list[tuple[str, Decimal, Decimal]] = []
    cash = D(10**6)
    for i in range(len(data) - 1):
        side = "BUY" if i % 5 == 0 else "SELL" if i % 5 == 3 else None
        if side is None:
            continue
        bar: Bar = data[i + 1]
        px = bar.open * (D(1) + (D("0.0005") if side == "BUY" else D("-0.0005")))
        fee = min(max(D(100) * D("0.005"), D(1)), D(100) * px * D("0.01"))
        expected.append((side, px, fee))
        cash += (-px if side == "BUY" else px) * 100 - fee
    got = [(f["side"], D(f["last_px"]), D(f["commission"])) for f in result.fills]
    assert got == expected
    position = sum(100 if s == "BUY" else -100 for s, _, _ in expected)
    equity = cash + position * data[-1].close
    assert D(result.summary["final_equity"]) == equity
    trips = result.round_trips
    assert len(trips) == sum(1 for s, _, _ in expected if s == "SELL")
    by_hand = [
        (sell - buy) * 100 - fb - fs
        for (_, buy, fb), (_, sell, fs) in zip(expected[::2], expected[1::2], strict=False)
    ]
    assert [D(t["pnl"]) for t in trips] == by_hand


def test_the_default_gates_refusing_most_orders_are_reported_not_hidden() -> None:
    from ordergate.backtest.examples import Alternate

    result = BacktestRunner(BacktestConfig()).run(bars(wave(500)), Alternate().on_event)
    rejections = result.summary["rejections"]
    assert rejections["E_RISK_MAX_TRADES_STRATEGY"]["count"] == 450  # 50 a day per strategy
    assert rejections["E_RISK_MAX_TRADES_STRATEGY"]["first_message"].endswith("limit=50")
    (warning,) = result.summary["warnings"]
    assert warning.startswith("pre-trade gates refused 450 of 500 orders (90.0 %)")


def test_a_span_too_short_to_annualise_gives_no_cagr_not_an_error() -> None:
    from ordergate.backtest.performance import Performance

    perf = Performance()
    start = datetime(2026, 1, 5, tzinfo=UTC)
    perf.add(start, D(100), False)
    perf.add(start + timedelta(microseconds=1), D(300), True)  # x3 in a microsecond
    summary = perf.summary(D(100), D(300), D(0), D(0))
    assert summary["cagr"] is None
    assert summary["total_return"] == 2.0
