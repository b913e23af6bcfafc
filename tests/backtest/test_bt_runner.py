"""The runner: the engine path, no look-ahead, participation, targets, determinism."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from btkit import bars, wave

from ordergate.backtest.examples import SmaCross
from ordergate.backtest.runner import BacktestConfig, BacktestRunner
from ordergate.backtest.strategy import StrategyContext, Targets
from ordergate.risk.config import RiskConfig
from ordergate.risk.limits import InstrumentLimits
from ordergate.sim.data import MarketEvent

D = Decimal


def once(intent: dict[str, Any], at_index: int = 0) -> Any:
    seen = {"n": 0}

    def strategy(event: MarketEvent, ctx: StrategyContext) -> Any:
        seen["n"] += 1
        return intent if seen["n"] == at_index + 1 else None

    return strategy


def test_an_order_decided_on_a_close_fills_at_the_next_open_plus_slippage() -> None:
    data = bars(["100", "103", "90"])
    result = BacktestRunner(BacktestConfig(fill_model="fixed_bps", fee_model="none")).run(
        data, once({"symbol": "AAPL", "side": "BUY", "qty": 10})
    )
    (fill,) = result.fills
    assert D(fill["last_px"]) == D(100) * D("1.0005")  # bar 2 opens at bar 1's close, 100
    assert fill["ts"] == data[0].ts.isoformat()  # stamped when that open was: bar 2's start
    (order,) = result.orders
    assert order["arrival_price"] == "100"
    assert order["status"] == "FILLED"
    assert result.tca["overall"]["slippage_bps"] == "5"


def test_participation_splits_a_large_order_over_bars() -> None:
    data = bars(["100"] * 7, volume="2000")
    config = BacktestConfig(fill_model="participation", slippage_bps=D(0), fee_model="none")
    result = BacktestRunner(config).run(data, once({"symbol": "AAPL", "side": "BUY", "qty": 1000}))
    assert [f["last_qty"] for f in result.fills] == ["200"] * 5
    assert result.positions[0]["qty"] == "1000"
    assert result.orders[0]["status"] == "FILLED"


def test_targets_trade_the_difference() -> None:
    answers = iter([Targets({"AAPL": 50}), Targets({"AAPL": 50}), Targets({"AAPL": -20})])

    def strategy(event: MarketEvent, ctx: StrategyContext) -> Any:
        return next(answers, None)

    result = BacktestRunner(BacktestConfig(fill_model="fixed_bps")).run(
        bars(["100", "101", "102", "103", "104"]), strategy, strategy_id="tgt"
    )
    sides = [(o["side"], o["qty"]) for o in result.orders]
    assert sides == [("BUY", "50"), ("SELL", "70")]  # the second 50 was already working
    assert result.positions[0]["qty"] == "-20"
    assert {t["strategy_id"] for t in result.trades} == {"tgt"}


def test_risk_gates_reject_through_the_engine() -> None:
    limits = InstrumentLimits(tradable=frozenset({"MSFT"}))
    runner = BacktestRunner(BacktestConfig(), risk=RiskConfig(limits=limits))
    result = runner.run(bars(["100", "101"]), once({"symbol": "AAPL", "side": "BUY", "qty": 1}))
    assert result.orders[0]["status"] == "REJECTED"
    assert result.orders[0]["error_code"] == "E_RISK_NOT_TRADABLE"
    assert result.summary["rejected"] == 1
    assert not result.fills


def test_equity_curve_and_trades_rows() -> None:
    result = BacktestRunner(BacktestConfig(fill_model="fixed_bps", fee_model="none")).run(
        bars(["100", "100", "110"]), once({"symbol": "AAPL", "side": "BUY", "qty": 10})
    )
    assert [p["equity"] for p in result.equity_curve] == ["1000000", "999999.5", "1000099.5"]
    (trade,) = result.trades
    assert trade["ticker"] == "AAPL"
    assert trade["direction"] == "BUY"
    assert trade["size"] == "10"
    assert set(trade) >= {"trade_id", "timestamp", "price", "order_id", "decision_id"}


def _run_once(seed: int) -> str:
    config = BacktestConfig(fill_model="sqrt_impact", latency_ms=5, jitter_ms=20, seed=seed)
    return (
        BacktestRunner(config)
        .run(bars(wave(120), volume="3000"), SmaCross(fast=3, slow=8).on_event, strategy_id="sma")
        .to_json()
    )


def test_two_runs_are_byte_identical() -> None:
    first, second = _run_once(1), _run_once(1)
    assert first == second
    assert json.loads(first)["summary"]["fills"] > 0
