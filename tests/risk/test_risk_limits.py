"""Instrument and order limits, buying power and the duplicate-order guard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.errors import ConfigError, ErrorCode
from ordergate.domain.intent import OrderIntent
from ordergate.engine.ports import GateContext
from ordergate.risk import (
    BuyingPowerConfig,
    BuyingPowerGate,
    DuplicateGuardConfig,
    DuplicateOrderGate,
    InstrumentLimits,
    InstrumentSpec,
    LotSizeGate,
    MaxNotionalGate,
    MaxQtyGate,
    MinQtyGate,
    PriceBandGate,
    TickSizeGate,
    TradableGate,
)

IntentFactory = Callable[..., OrderIntent]
ContextFactory = Callable[..., GateContext]

SPEC = InstrumentSpec(
    tick_size=Decimal("0.05"),
    lot_size=Decimal(10),
    min_qty=Decimal(20),
    max_qty=Decimal(1000),
    max_notional=Decimal(100_000),
    price_band_bps=Decimal(500),
)
LIMITS = InstrumentLimits(tradable=frozenset({"AAPL", "MSFT"}), instruments={"AAPL": SPEC})


def test_tradable_list(make_intent: IntentFactory, make_context: ContextFactory) -> None:
    gate = TradableGate(LIMITS)
    assert gate.check(make_intent(symbol="MSFT"), make_context()) is None
    rejection = gate.check(make_intent(symbol="TSLA"), make_context())
    assert rejection is not None
    assert rejection.message == "E_RISK_NOT_TRADABLE: symbol=TSLA"
    assert (
        TradableGate(InstrumentLimits()).check(make_intent(symbol="TSLA"), make_context()) is None
    )


def test_tick_size(make_intent: IntentFactory, make_context: ContextFactory) -> None:
    gate = TickSizeGate(LIMITS)
    ok = make_intent(order_type="LIMIT", limit_price="150.05")
    assert gate.check(ok, make_context()) is None
    bad = make_intent(order_type="STOP", stop_price="150.03")
    rejection = gate.check(bad, make_context())
    assert rejection is not None
    assert rejection.message == "E_RISK_TICK_SIZE: field=stop_price price=150.03 tick=0.05"


def test_lot_size_and_odd_lot_close(
    make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    gate = LotSizeGate(LIMITS)
    assert gate.check(make_intent(qty="30"), make_context()) is None
    rejection = gate.check(make_intent(qty="35"), make_context())
    assert rejection is not None
    assert rejection.message == "E_RISK_LOT_SIZE: qty=35 lot=10"
    # closing an odd-lot position whole is allowed; part of it is not
    assert gate.check(make_intent(side="SELL", qty="35"), make_context(position="35")) is None
    assert gate.check(make_intent(side="SELL", qty="15"), make_context(position="35"))


def test_min_and_max_qty(make_intent: IntentFactory, make_context: ContextFactory) -> None:
    low = MinQtyGate(LIMITS).check(make_intent(qty="10"), make_context())
    assert low is not None
    assert low.message == "E_RISK_MIN_QTY: qty=10 min=20"
    assert (
        MinQtyGate(LIMITS).check(make_intent(side="SELL", qty="10"), make_context(position="10"))
        is None
    )
    high = MaxQtyGate(LIMITS).check(make_intent(qty="1010"), make_context())
    assert high is not None
    assert high.message == "E_RISK_MAX_QTY: qty=1010 max=1000"
    assert MaxQtyGate(LIMITS).check(make_intent(qty="1000"), make_context()) is None


def test_max_notional_uses_the_far_quote(
    make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    gate = MaxNotionalGate(LIMITS)
    assert gate.check(make_intent(qty="600"), make_context(last="150", ask="166")) is None
    rejection = gate.check(make_intent(qty="610"), make_context(last="150", ask="166"))
    assert rejection is not None
    assert rejection.message == "E_RISK_MAX_NOTIONAL: notional=101260 max=100000 price=166"


def test_max_notional_fails_closed_without_a_price(
    make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    rejection = MaxNotionalGate(LIMITS).check(make_intent(), make_context(last=None))
    assert rejection is not None
    assert rejection.message == "E_EXEC_NO_MARKET_DATA: symbol=AAPL gate=max_notional"


def test_price_band(make_intent: IntentFactory, make_context: ContextFactory) -> None:
    gate = PriceBandGate(LIMITS)
    assert gate.check(make_intent(order_type="LIMIT", limit_price="157.50"), make_context()) is None
    rejection = gate.check(make_intent(order_type="LIMIT", limit_price="160"), make_context())
    assert rejection is not None
    assert rejection.message == (
        "E_RISK_PRICE_BAND: field=limit_price price=160 mark=150.00 "
        "deviation_bps=666.67 band_bps=500"
    )
    assert gate.check(make_intent(), make_context(last=None)) is None  # market: no price
    blind = gate.check(make_intent(order_type="LIMIT", limit_price="150"), make_context(last=None))
    assert blind is not None
    assert blind.code is ErrorCode.E_EXEC_NO_MARKET_DATA


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ConfigError):
        InstrumentSpec(tick_size=Decimal(0))
    with pytest.raises(ConfigError):
        BuyingPowerConfig(margin_rate=Decimal("1.5"))
    with pytest.raises(ConfigError):
        DuplicateGuardConfig(window=timedelta(0))


def test_buying_power(make_intent: IntentFactory, make_context: ContextFactory) -> None:
    cash = {"default": Decimal(15_000)}
    gate = BuyingPowerGate(cash.get)
    assert gate.check(make_intent(qty="100"), make_context(last="150")) is None
    rejection = gate.check(make_intent(qty="101"), make_context(last="150"))
    assert rejection is not None
    assert rejection.message == "E_RISK_BUYING_POWER: required=15150 available=15000"
    margin = BuyingPowerGate(cash.get, BuyingPowerConfig(margin_rate=Decimal("0.25")))
    assert margin.check(make_intent(qty="400"), make_context(last="150")) is None
    # selling what we hold needs no buying power; an unknown account fails closed
    assert gate.check(make_intent(side="SELL", qty="500"), make_context(position="500")) is None
    unknown = gate.check(make_intent(account_id="other"), make_context())
    assert unknown is not None
    assert unknown.context["available"] == "unknown"


def test_duplicate_guard_window(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    gate = DuplicateOrderGate(clock, DuplicateGuardConfig(window=timedelta(seconds=2)))
    assert gate.check(make_intent(), make_context()) is None
    clock.advance(timedelta(milliseconds=1999))
    rejection = gate.check(make_intent(), make_context())
    assert rejection is not None
    assert rejection.message == (
        "E_RISK_DUPLICATE_ORDER: symbol=AAPL side=BUY qty=100 "
        "previous_at=2026-01-02T14:30:00+00:00 window_s=2.0"
    )
    assert gate.check(make_intent(qty="101"), make_context()) is None
    assert gate.check(make_intent(side="SELL"), make_context()) is None
    clock.advance(timedelta(milliseconds=1))
    assert gate.check(make_intent(), make_context()) is None


def test_duplicate_guard_per_strategy(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    shared = DuplicateOrderGate(clock)
    split = DuplicateOrderGate(clock, DuplicateGuardConfig(per_strategy=True))
    for gate, second in ((shared, False), (split, True)):
        assert gate.check(make_intent(strategy_id="a"), make_context()) is None
        passed = gate.check(make_intent(strategy_id="b"), make_context()) is None
        assert passed is second


def test_computed_prices_have_a_documented_default_tick() -> None:
    """Issue 21: an instrument with no tick still gives computed prices a cent tick."""
    from decimal import Decimal

    from ordergate.risk.limits import DEFAULT_TICK, InstrumentSpec

    assert Decimal("0.01") == DEFAULT_TICK
    assert InstrumentSpec().price_tick == DEFAULT_TICK
    assert InstrumentSpec(tick_size=Decimal("0.05")).price_tick == Decimal("0.05")
