"""Seed 003's loss breakers: defaults, each limit at its edge, daily reset, rebuild."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.errors import ConfigError, ErrorCode
from ordergate.domain.intent import OrderIntent
from ordergate.engine.ports import GateContext
from ordergate.risk import (
    BreakerConfig,
    DailyLossGate,
    DrawdownGate,
    LedgerFill,
    LossStreakGate,
    MaxTradesGate,
    RiskLedger,
    StrategyTradesGate,
)

IntentFactory = Callable[..., OrderIntent]
ContextFactory = Callable[..., GateContext]
DAY = "2026-01-02"
TS = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)


def fill(ledger: RiskLedger, pnl: str, *, strategy: str = "momo", order: str | None = None) -> None:
    ledger.on_fill(strategy, "AAPL", Decimal(pnl), TS, DAY, closing=True, order_id=order)


def test_seed_003_defaults() -> None:
    config = BreakerConfig()
    assert config.max_daily_loss == Decimal(5000)
    assert config.max_daily_drawdown_pct == Decimal("0.02")
    assert config.max_trades_per_day == 100
    assert config.max_trades_per_strategy_per_day == 50
    assert config.max_loss_streak == 5
    assert config.reducing_orders_pass is True


@pytest.mark.parametrize(
    "field", ["max_daily_loss", "max_daily_drawdown_pct", "max_trades_per_day", "max_loss_streak"]
)
def test_non_positive_limits_are_refused(field: str) -> None:
    with pytest.raises(ConfigError):
        BreakerConfig(**{field: 0})  # type: ignore[arg-type]


def test_daily_loss_blocks_only_past_the_limit(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    ledger = RiskLedger()
    gate = DailyLossGate(ledger, clock)
    fill(ledger, "-5000")
    assert gate.check(make_intent(), make_context()) is None  # seed 003: realized < -limit
    fill(ledger, "-12.40")
    rejection = gate.check(make_intent(), make_context())
    assert rejection is not None
    assert rejection.code is ErrorCode.E_RISK_DAILY_LOSS
    assert rejection.message == (
        "E_RISK_DAILY_LOSS: realized=-5012.40 limit=-5000 scope=account:default"
    )


def test_daily_loss_per_strategy_when_configured(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    ledger = RiskLedger()
    gate = DailyLossGate(ledger, clock, BreakerConfig(max_strategy_daily_loss=Decimal(1000)))
    fill(ledger, "-1500", strategy="momo")
    fill(ledger, "900", strategy="meanrev")
    assert gate.check(make_intent(strategy_id="meanrev"), make_context()) is None
    rejection = gate.check(make_intent(strategy_id="momo"), make_context())
    assert rejection is not None
    assert dict(rejection.context) == {
        "realized": "-1500",
        "limit": "-1000",
        "scope": "strategy:momo",
    }


def test_losses_reset_on_the_next_trading_day(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    ledger = RiskLedger()
    gate = DailyLossGate(ledger, clock)
    fill(ledger, "-6000")
    assert gate.check(make_intent(), make_context()) is not None
    clock.advance(timedelta(days=1))
    assert gate.check(make_intent(), make_context()) is None


def test_drawdown_from_the_intraday_peak(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    ledger = RiskLedger()
    gate = DrawdownGate(ledger, clock)
    for equity in ("100000", "105000", "102900"):  # 2 % below the 105000 peak
        ledger.on_equity(Decimal(equity), DAY)
    assert gate.check(make_intent(), make_context()) is None
    ledger.on_equity(Decimal("102000"), DAY)
    rejection = gate.check(make_intent(), make_context())
    assert rejection is not None
    assert rejection.code is ErrorCode.E_RISK_DRAWDOWN
    assert dict(rejection.context) == {
        "drawdown_pct": "0.028571",
        "limit": "0.02",
        "peak": "105000",
        "equity": "102000",
    }


def test_trades_per_day_counts_orders_not_fills(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    ledger = RiskLedger()
    gate = MaxTradesGate(ledger, clock, BreakerConfig(max_trades_per_day=3))
    for n in range(2):
        fill(ledger, "1", order=f"o{n}")
        fill(ledger, "1", order=f"o{n}")  # a second fill of the same order
    assert ledger.day("default", DAY).trades == 2
    assert gate.check(make_intent(), make_context()) is None
    fill(ledger, "1", order="o9")
    rejection = gate.check(make_intent(), make_context())
    assert rejection is not None
    assert rejection.message == "E_RISK_MAX_TRADES: trades=3 limit=3"


def test_trades_per_strategy(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    ledger = RiskLedger()
    gate = StrategyTradesGate(ledger, clock, BreakerConfig(max_trades_per_strategy_per_day=2))
    fill(ledger, "1", strategy="momo", order="a")
    fill(ledger, "1", strategy="momo", order="b")
    assert gate.check(make_intent(strategy_id="other"), make_context()) is None
    rejection = gate.check(make_intent(strategy_id="momo"), make_context())
    assert rejection is not None
    assert rejection.code is ErrorCode.E_RISK_MAX_TRADES_STRATEGY
    assert rejection.message == "E_RISK_MAX_TRADES_STRATEGY: strategy=momo trades=2 limit=2"


def test_loss_streak_counts_consecutive_losing_closes(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    ledger = RiskLedger()
    gate = LossStreakGate(ledger, clock)
    for _ in range(4):
        fill(ledger, "-10")
    fill(ledger, "5")  # a win ends the streak
    for _ in range(4):
        fill(ledger, "-10")
    # an opening fill (commission only) leaves the streak alone
    ledger.on_fill("momo", "AAPL", Decimal("-1"), TS, DAY, closing=False)
    assert ledger.day("default", DAY).loss_streak == 4
    assert gate.check(make_intent(), make_context()) is None
    fill(ledger, "-10")
    rejection = gate.check(make_intent(), make_context())
    assert rejection is not None
    assert rejection.message == "E_RISK_LOSS_STREAK: streak=5 limit=5 scope=account:default"


def test_reducing_orders_pass_a_tripped_breaker(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    ledger = RiskLedger()
    fill(ledger, "-9999")
    loose = DailyLossGate(ledger, clock)
    strict = DailyLossGate(ledger, clock, BreakerConfig(reducing_orders_pass=False))
    closing = make_intent(side="SELL", qty="100")
    assert loose.check(closing, make_context(position="100")) is None
    assert strict.check(closing, make_context(position="100")) is not None
    # selling more than the position would open a short: not reducing
    assert loose.check(make_intent(side="SELL", qty="150"), make_context(position="100"))


def test_a_repeated_execution_is_counted_once() -> None:
    ledger = RiskLedger()
    for _ in range(2):
        ledger.on_fill(
            "momo", "AAPL", Decimal("-50"), TS, DAY, closing=True, order_id="o1", exec_id="e1"
        )
    assert ledger.day("default", DAY).realized == Decimal("-50")


def test_rebuilt_ledger_equals_the_live_one() -> None:
    records = [
        LedgerFill(order_id="o1", exec_id="e1", symbol="AAPL", strategy_id="momo",
                   realized_gross=Decimal(0), commission=Decimal("1"), trading_day=DAY, ts=TS),
        LedgerFill(order_id="o2", exec_id="e2", symbol="AAPL", strategy_id="momo",
                   realized_gross=Decimal("-40"), commission=Decimal("1"), trading_day=DAY, ts=TS),
        LedgerFill(order_id="o2", exec_id="e3", symbol="AAPL", strategy_id="momo",
                   realized_gross=Decimal("-20"), commission=Decimal("1"), trading_day=DAY, ts=TS),
        LedgerFill(order_id="o3", exec_id="e4", symbol="MSFT", strategy_id="other",
                   realized_gross=Decimal("-5"), commission=Decimal("0.5"),
                   trading_day="2026-01-01", ts=TS - timedelta(days=1)),
    ]  # fmt: skip
    live = RiskLedger()
    for r in records:
        live.on_fill(
            r.strategy_id, r.symbol, r.realized_gross - r.commission, r.ts, r.trading_day,
            closing=r.realized_gross != 0, account_id=r.account_id,
            order_id=r.order_id, exec_id=r.exec_id,
        )  # fmt: skip
    rebuilt = RiskLedger.from_fills(records)
    today = rebuilt.day("default", DAY)
    assert today == live.day("default", DAY)
    assert today.realized == Decimal("-63")
    assert today.trades == 2
    assert today.loss_streak == 2
    assert today.strategy("momo").realized == Decimal("-63")
    assert rebuilt.day("default", "2026-01-01").realized == Decimal("-5.5")
    rebuilt.prune(DAY)
    assert rebuilt.day("default", "2026-01-01").trades == 0
