"""Backtest fidelity (issue 16): row order, latency on bars, volume, costs from one place."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from btkit import bars, wave

from ordergate.backtest.examples import SmaCross
from ordergate.backtest.runner import BacktestConfig, BacktestRunner
from ordergate.backtest.strategy import StrategyContext
from ordergate.brokers.base import OrderRequest
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SimulatedClock
from ordergate.config import load_settings
from ordergate.domain.enums import OrderType, Side, TimeInForce
from ordergate.domain.errors import ConfigError
from ordergate.domain.market import Mark
from ordergate.sim.costs import CostConfig
from ordergate.sim.data import Bar, MarketEvent
from ordergate.sim.tif import Session

D = Decimal
MONDAY = datetime(2026, 1, 5, 21, 0, tzinfo=UTC)


def daily(closes: list[str], *, symbol: str = "AAPL", volume: str | None = None) -> list[Bar]:
    """Daily bars stamped at the close, one a calendar day, no start column."""
    return [
        Bar(
            symbol=symbol,
            ts=MONDAY + timedelta(days=i),
            open=b.open,
            high=b.high,
            low=b.low,
            close=b.close,
            volume=None if volume is None else D(volume),
        )
        for i, b in enumerate(bars(closes, symbol=symbol))
    ]


def test_latency_on_daily_bars_fills_at_the_open_not_the_close() -> None:
    data = daily(wave(120))
    config = BacktestConfig(fill_model="fixed_bps", fee_model="none")
    plain = BacktestRunner(config).run(data, SmaCross().on_event)
    late = BacktestRunner(BacktestConfig(fill_model="fixed_bps", fee_model="none", latency_ms=5))
    slow = late.run(data, SmaCross().on_event)
    assert len(plain.fills) == len(slow.fills) > 4
    # decided at a close, arrived 5 ms later: still before the next day began, so the
    # same fills at the next open, stamped at midnight of the bar's own date
    assert [f["last_px"] for f in plain.fills] == [f["last_px"] for f in slow.fills]
    assert [f["ts"] for f in plain.fills] == [f["ts"] for f in slow.fills]
    assert plain.summary["pnl"] == slow.summary["pnl"]
    for fill in slow.fills:
        assert datetime.fromisoformat(fill["ts"]).time() == time(0, 0)


def _pair_strategy(event: MarketEvent, ctx: StrategyContext) -> Any:
    """On every AAPL event, buy 1 MSFT: the order is decided at AAPL's time."""
    if event.symbol == "AAPL":
        return {"symbol": "MSFT", "side": "BUY", "qty": 1}
    return None


def _marks(order: str) -> list[MarketEvent]:
    out: list[MarketEvent] = []
    for i in range(5):
        ts = MONDAY + timedelta(minutes=i)
        pair = [
            Mark(symbol="AAPL", last=D(100 + i), volume=D(1000), ts=ts),
            Mark(symbol="MSFT", last=D(50 + i), volume=D(1000), ts=ts),
        ]
        out.extend(pair if order == "aapl first" else pair[::-1])
    return out


def test_several_symbols_at_one_time_give_the_same_fills_whatever_the_row_order() -> None:
    config = BacktestConfig(fill_model="none", fee_model="none")
    first = BacktestRunner(config).run(_marks("aapl first"), _pair_strategy)
    second = BacktestRunner(config).run(_marks("msft first"), _pair_strategy)
    prices = [f["last_px"] for f in first.fills]
    # decided at minute i, filled at MSFT's price of minute i + 1: 51, 52, 53, 54
    assert prices == ["51", "52", "53", "54"]
    assert prices == [f["last_px"] for f in second.fills]
    assert first.to_json() == second.to_json()


def test_data_without_volume_is_refused_under_a_participation_limit() -> None:
    data = daily(wave(40))  # no volume column
    with pytest.raises(ConfigError, match=r"40 of 40 market events have no volume.*10 %"):
        BacktestRunner(BacktestConfig(fill_model="participation")).run(data, SmaCross().on_event)
    allowed = BacktestConfig(fill_model="participation", allow_missing_volume=True)
    result = BacktestRunner(allowed).run(data, SmaCross().on_event)
    assert any("40 of 40 events had no volume" in w for w in result.summary["warnings"])
    assert result.summary["config"]["participation"] == "0.1"
    assert result.summary["config"]["events_without_volume"] == 40


def test_the_summary_echoes_the_costs_that_applied() -> None:
    config = BacktestConfig(fill_model="participation", fee_model="maker_taker")
    result = BacktestRunner(config).run(bars(wave(40)), SmaCross().on_event)
    echoed = result.summary["config"]
    assert echoed["participation"] == "0.1"  # the model's default, not null
    assert echoed["slippage"] == "FixedBps"
    assert (echoed["fee_maker_bps"], echoed["fee_taker_bps"]) == ("1", "5")
    assert "fee_per_share" not in echoed  # only the knobs the fee model reads


def test_the_backtest_reads_the_settings_paper_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERGATE_FILL_MODEL", "none")
    monkeypatch.setenv("ORDERGATE_FEE_MODEL", "bps")
    monkeypatch.setenv("ORDERGATE_FEE_BPS", "10")
    monkeypatch.setenv("ORDERGATE_PAPER_SESSION_CLOSE", "16:00")
    settings = load_settings()
    config = BacktestConfig.from_settings(settings, latency_ms=3)
    assert (config.fill_model, config.fee_model, config.fee_bps) == ("none", "bps", D(10))
    assert config.session == Session(close=time(16, 0), tz="America/New_York")
    assert config.latency_ms == 3
    result = BacktestRunner(config).run(bars(wave(40)), SmaCross().on_event)
    fill = result.fills[0]
    # 10 bps of the fill's value, no slippage
    assert D(fill["commission"]) == D(fill["last_qty"]) * D(fill["last_px"]) / 1000
    costs = CostConfig.from_settings(settings)
    assert costs.fees() == config.costs().fees()
    assert costs.fills() == config.costs().fills()


def test_the_same_settings_give_the_same_fills_in_paper_and_in_a_backtest() -> None:
    costs = CostConfig(fill_model="fixed_bps", fee_model="maker_taker")
    prices = ["100", "99.4", "98.7", "99.9", "101.2"]
    marks = [
        Mark(symbol="AAPL", last=D(p), ts=MONDAY + timedelta(seconds=i))
        for i, p in enumerate(prices)
    ]
    seen = []
    for fill_at_arrival in (True, False):
        clock = SimulatedClock(MONDAY)
        broker = PaperBroker(
            clock=clock,
            fill_model=costs.fills(),
            fee_model=costs.fees(),
            latency=costs.latency(),
            fill_at_arrival=fill_at_arrival,
        )
        broker.on_mark(marks[0])
        request = OrderRequest(
            client_order_id="x",
            account_id="default",
            symbol="AAPL",
            side=Side.BUY,
            qty=D(10),
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
            limit_price=D("99"),
        )
        broker.submit(request)
        for m in marks[1:]:
            clock.set(m.ts)
            broker.on_mark(m)
        order = broker.fetch_order("x")
        assert order is not None
        seen.append(order.executions)
    paper, backtest = seen
    assert paper == backtest
    # it rested at 99 and the print at 98.7 went through it: a maker, at 98.7, 1 bp
    (fill,) = paper
    assert (fill.last_px, fill.liquidity, fill.commission) == (D("98.7"), "M", D("0.0987"))


def test_a_quote_trades_once_in_a_backtest_capped_by_its_displayed_size() -> None:
    from ordergate.sim.data import Quote

    quotes = [
        Quote(symbol="AAPL", ts=MONDAY + timedelta(seconds=i), bid=D("99.98"),
              ask=D("100.02"), bid_size=D(500), ask_size=D(500))
        for i in range(4)
    ]  # fmt: skip
    done: list[bool] = []

    def buy_once(event: MarketEvent, ctx: StrategyContext) -> Any:
        if done:
            return None
        done.append(True)
        return {"symbol": "AAPL", "side": "BUY", "qty": 1000}

    config = BacktestConfig(fill_model="participation", slippage_bps=D(0), fee_model="none")
    result = BacktestRunner(config).run(quotes, buy_once)
    # 10 % of 500 on each of the three quotes after the decision, at the ask: the engine's
    # mark after each quote trades nothing more
    assert [(f["last_qty"], f["last_px"]) for f in result.fills] == [("50", "100.02")] * 3
