"""The gate chain: documented order, first "no" wins, trading state and EMERGENCY."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderType
from ordergate.domain.errors import ConfigError, ErrorCode
from ordergate.domain.intent import OrderIntent
from ordergate.engine.ports import GateContext, PreTradeCheck
from ordergate.risk import (
    EmergencyConfig,
    GateChain,
    InMemoryKillSwitchRepository,
    KillSwitchBoard,
    MarketableStyle,
    RiskConfig,
    RiskLedger,
    TradingControls,
    TradingStateGate,
    build_gate_chain,
    make_marketable,
)

IntentFactory = Callable[..., OrderIntent]
ContextFactory = Callable[..., GateContext]
DOCUMENTED_ORDER = (
    "expiry",
    "kill_switch",
    "trading_state",
    "tradable",
    "tick_size",
    "lot_size",
    "min_qty",
    "max_qty",
    "price_band",
    "max_notional",
    "daily_loss",
    "drawdown",
    "loss_streak",
    "max_trades",
    "strategy_trades",
    "buying_power",
    "duplicate_order",
)


class Desk:
    """The default chain and the objects that steer it."""

    def __init__(self, clock: SimulatedClock, config: RiskConfig | None = None) -> None:
        self.ledger = RiskLedger()
        self.board = KillSwitchBoard(InMemoryKillSwitchRepository(), clock)
        self.controls = TradingControls(clock)
        self.cash = {"default": Decimal(1_000_000)}
        self.chain = build_gate_chain(
            config or RiskConfig(),
            clock=clock,
            ledger=self.ledger,
            board=self.board,
            controls=self.controls,
            buying_power=self.cash.get,
        )


@pytest.fixture
def desk(clock: SimulatedClock) -> Desk:
    return Desk(clock)


def test_default_chain_runs_in_the_documented_order(desk: Desk) -> None:
    assert desk.chain.names == DOCUMENTED_ORDER
    check: PreTradeCheck = desk.chain  # the engine's port
    assert check is desk.chain


def test_a_clean_intent_passes(
    desk: Desk, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    verdict = desk.chain.evaluate(make_intent(), make_context())
    assert verdict.passed
    assert verdict.gate is None


def test_first_no_wins(
    desk: Desk, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    when = datetime(2026, 1, 2, 14, 0, tzinfo=UTC)
    desk.ledger.on_fill("default", "AAPL", Decimal(-6000), when, "2026-01-02", closing=True)
    desk.controls.set_state("HALTED", actor="ops", reason="exchange outage")
    desk.board.set("GLOBAL", reason="fat finger", actor="alice")
    verdict = desk.chain.evaluate(make_intent(), make_context())
    assert verdict.gate == "kill_switch"
    desk.board.clear("GLOBAL", reason="ok", actor="alice")
    assert desk.chain.evaluate(make_intent(), make_context()).gate == "trading_state"
    desk.controls.set_state("NORMAL", actor="ops", reason="back")
    rejection = desk.chain.check(make_intent(), make_context())
    assert rejection is not None
    assert rejection.code is ErrorCode.E_RISK_DAILY_LOSS


def test_expired_intent(
    desk: Desk, clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    intent = make_intent(expire_at="2026-01-02T14:31:00Z")
    assert desk.chain.check(intent, make_context()) is None
    clock.advance(timedelta(minutes=1))
    rejection = desk.chain.check(intent, make_context())
    assert rejection is not None
    assert rejection.message == (
        "E_INTENT_EXPIRED: expire_at=2026-01-02T14:31:00+00:00 now=2026-01-02T14:31:00+00:00"
    )


def test_warnings_are_collected(
    desk: Desk, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    desk.board.set("SYMBOL", "AAPL", "WARNING", reason="wide spread", actor="risk")
    verdict = desk.chain.evaluate(make_intent(), make_context())
    assert verdict.passed
    assert verdict.warnings == ("kill switch SYMBOL:AAPL is WARNING: wide spread (risk)",)


def test_duplicate_guard_remembers_only_what_passed(
    desk: Desk, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    desk.board.set("GLOBAL", reason="pause", actor="alice")
    assert desk.chain.check(make_intent(), make_context()) is not None
    desk.board.clear("GLOBAL", reason="go", actor="alice")
    assert desk.chain.check(make_intent(), make_context()) is None
    again = desk.chain.check(make_intent(), make_context())
    assert again is not None
    assert again.code is ErrorCode.E_RISK_DUPLICATE_ORDER


def test_without_drops_gates_and_refuses_unknown_names(desk: Desk) -> None:
    lean = desk.chain.without(["buying_power", "duplicate_order"])
    assert lean.names == DOCUMENTED_ORDER[:-2]
    with pytest.raises(ConfigError):
        desk.chain.without(["nope"])
    with pytest.raises(ConfigError):
        GateChain([*desk.chain.gates, desk.chain.gates[0]])


# ------------------------------------------------------------- trading state


def test_halted_rejects_even_reducing_intents(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    controls = TradingControls(clock)
    controls.set_state("HALTED", actor="ops", reason="exchange outage")
    rejection = TradingStateGate(controls).check(
        make_intent(side="SELL"), make_context(position="100")
    )
    assert rejection is not None
    assert rejection.message == "E_RISK_TRADING_HALTED: state=HALTED by=ops why=exchange outage"
    assert controls.state_change.at == clock.now()


@pytest.mark.parametrize(("state", "posture"), [("REDUCING", "NORMAL"), ("NORMAL", "EMERGENCY")])
def test_reduce_only(
    clock: SimulatedClock,
    make_intent: IntentFactory,
    make_context: ContextFactory,
    state: str,
    posture: str,
) -> None:
    controls = TradingControls(clock)
    controls.set_state(state, actor="ops", reason="r")
    controls.set_posture(posture, actor="black-swan", reason="crash")
    gate = TradingStateGate(controls)
    long_100 = make_context(position="100")
    assert gate.check(make_intent(side="SELL", qty="100"), long_100) is None
    short_10 = make_context(position="-10")
    assert gate.check(make_intent(side="BUY", qty="10"), short_10) is None
    adding = gate.check(make_intent(side="BUY", qty="1"), long_100)
    assert adding is not None
    assert adding.message == (
        f"E_RISK_REDUCE_ONLY: state={state} posture={posture} position=100 side=BUY qty=1"
    )
    flip = gate.check(make_intent(side="SELL", qty="101"), long_100)
    assert flip is not None
    # a working sell of 60 already reduces; 50 more would flip the position
    working = make_context(position="100", open_qty="-60")
    assert gate.check(make_intent(side="SELL", qty="50"), working) is not None
    assert gate.check(make_intent(side="SELL", qty="40"), working) is None


def test_changing_state_needs_actor_and_reason(clock: SimulatedClock) -> None:
    with pytest.raises(ConfigError):
        TradingControls(clock).set_state("HALTED", actor="", reason="x")


def test_make_marketable(make_intent: IntentFactory, make_context: ContextFactory) -> None:
    mark = make_context(last="100", bid="99.90", ask="100.10").mark
    limit = make_intent(order_type="LIMIT", limit_price="95")
    off = EmergencyConfig()
    assert make_marketable(limit, mark, off) is limit
    to_market = EmergencyConfig(make_limits_marketable=True, style=MarketableStyle.MARKET)
    as_market = make_marketable(limit, mark, to_market)
    assert (as_market.order_type, as_market.limit_price) == (OrderType.MARKET, None)
    cross = EmergencyConfig(make_limits_marketable=True, cross_bps=Decimal(25))
    crossed = make_marketable(limit, mark, cross, tick_size=Decimal("0.01"))
    assert crossed.limit_price == Decimal("100.36")  # 100.10 × 1.0025 = 100.35025, up a tick
    sell_limit = make_intent(side="SELL", order_type="LIMIT", limit_price="105")
    sell = make_marketable(sell_limit, mark, cross, tick_size=Decimal("0.01"))
    assert sell.limit_price == Decimal("99.65")  # 99.90 × 0.9975 = 99.65025, down a tick
    keeps_better = make_marketable(make_intent(order_type="LIMIT", limit_price="120"), mark, cross)
    assert keeps_better.limit_price == Decimal("120")
    blind = make_marketable(limit, None, cross)
    assert blind.order_type is OrderType.MARKET


# ----------------------------------------------------------------- settings


def test_risk_config_from_mapping() -> None:
    config = RiskConfig.from_mapping(
        {
            "breakers": {"max_daily_loss": "2500", "max_loss_streak": 3},
            "limits": {
                "tradable": ["aapl", "msft"],
                "default": {"tick_size": "0.01"},
                "instruments": {"aapl": {"lot_size": "10", "price_band_bps": 300}},
            },
            "buying_power": {"margin_rate": "0.5"},
            "duplicate_window_ms": 500,
            "emergency": {"make_limits_marketable": True, "style": "market"},
        }
    )
    assert config.breakers.max_daily_loss == Decimal(2500)
    assert config.breakers.max_daily_drawdown_pct == Decimal("0.02")
    assert config.breakers.max_loss_streak == 3
    assert config.limits.tradable == frozenset({"AAPL", "MSFT"})
    assert config.limits.spec("AAPL").lot_size == Decimal(10)
    assert config.limits.spec("MSFT").tick_size == Decimal("0.01")
    assert config.buying_power.margin_rate == Decimal("0.5")
    assert config.duplicate_guard is not None
    assert config.duplicate_guard.window == timedelta(milliseconds=500)
    assert config.emergency.style is MarketableStyle.MARKET
    assert RiskConfig.from_mapping({"duplicate_window_ms": None}).duplicate_guard is None


@pytest.mark.parametrize(
    "data",
    [
        {"breakerz": {}},
        {"breakers": {"max_daily_los": "1"}},
        {"breakers": {"max_daily_loss": "abc"}},
        {"breakers": {"max_daily_loss": "-1"}},
        {"breakers": {"max_trades_per_day": True}},
        {"limits": {"tradable": "AAPL"}},
        {"limits": {"default": {"tick": "0.01"}}},
        {"emergency": {"style": "PANIC"}},
        {"emergency": {"make_limits_marketable": "yes"}},
    ],
)
def test_risk_config_rejects_bad_settings(data: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        RiskConfig.from_mapping(data)
