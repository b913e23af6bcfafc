"""Short cuts on the per-order path of the gates: they must answer what the long way
does. A breaker whose limits are all off says go without reading the day; the
kill-switch board reads only the switches not OFF."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.errors import ErrorCode
from ordergate.domain.intent import OrderIntent
from ordergate.engine.ports import GateContext
from ordergate.risk import (
    BreakerConfig,
    DailyLossGate,
    DrawdownGate,
    LossStreakGate,
    MaxTradesGate,
    RiskLedger,
    StrategyTradesGate,
)
from ordergate.risk.killswitch import (
    InMemoryKillSwitchRepository,
    KillSwitchBoard,
    KillSwitchGate,
    KillSwitchState,
)

IntentFactory = Callable[..., OrderIntent]
ContextFactory = Callable[..., GateContext]
DAY = "2026-01-02"
TS = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)
OFF = BreakerConfig(
    max_daily_loss=None,
    max_daily_drawdown_pct=None,
    max_trades_per_day=None,
    max_trades_per_strategy_per_day=None,
    max_loss_streak=None,
)
BREAKERS = (DailyLossGate, DrawdownGate, LossStreakGate, MaxTradesGate, StrategyTradesGate)


class ExplodingLedger(RiskLedger):
    def day(self, account_id: str, trading_day: str):  # type: ignore[no-untyped-def]
        raise AssertionError("a breaker with its limits off read the ledger")


def a_terrible_day() -> RiskLedger:
    ledger = RiskLedger()
    for i in range(200):
        ledger.on_fill("momo", "AAPL", Decimal(-100), TS, DAY, closing=True, order_id=f"o{i}")
    ledger.on_equity(Decimal(100_000), DAY)
    ledger.on_equity(Decimal(50_000), DAY)
    return ledger


@pytest.mark.parametrize("kind", BREAKERS)
def test_a_breaker_with_its_limits_off_says_go_without_reading_the_day(
    kind: type[DailyLossGate],
    clock: SimulatedClock,
    make_intent: IntentFactory,
    make_context: ContextFactory,
) -> None:
    gate = kind(ExplodingLedger(), clock, OFF)
    assert gate.check(make_intent(), make_context()) is None


@pytest.mark.parametrize(
    ("kind", "config", "code"),
    [
        (DailyLossGate, {"max_daily_loss": None}, None),
        (
            DailyLossGate,
            {"max_daily_loss": None, "max_strategy_daily_loss": Decimal(1000)},
            ErrorCode.E_RISK_DAILY_LOSS,
        ),
        (
            LossStreakGate,
            {"max_loss_streak": None, "max_strategy_loss_streak": 3},
            ErrorCode.E_RISK_LOSS_STREAK,
        ),
        (DrawdownGate, {}, ErrorCode.E_RISK_DRAWDOWN),
        (MaxTradesGate, {}, ErrorCode.E_RISK_MAX_TRADES),
        (StrategyTradesGate, {}, ErrorCode.E_RISK_MAX_TRADES_STRATEGY),
    ],
)
def test_a_breaker_with_any_limit_on_still_rules(
    kind: type[DailyLossGate],
    config: dict[str, object],
    code: ErrorCode | None,
    clock: SimulatedClock,
    make_intent: IntentFactory,
    make_context: ContextFactory,
) -> None:
    gate = kind(a_terrible_day(), clock, BreakerConfig(**config))  # type: ignore[arg-type]
    rejection = gate.check(make_intent(strategy_id="momo"), make_context())
    assert (None if rejection is None else rejection.code) is code


def test_the_board_reads_only_switches_in_force(
    clock: SimulatedClock, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    repository = InMemoryKillSwitchRepository()
    board = KillSwitchBoard(repository, clock)
    gate = KillSwitchGate(board)
    intent, context = make_intent(symbol="AAPL"), make_context()
    assert board.in_force("AAPL", "s") == []
    board.set("SYMBOL", "AAPL", reason="halt", actor="ops")
    rejection = gate.check(intent, context)
    assert rejection is not None
    assert rejection.code is ErrorCode.E_RISK_KILL_SWITCH
    board.clear("SYMBOL", "AAPL", reason="resumed", actor="ops")
    assert gate.check(intent, context) is None
    assert [s.state for s in board.list(include_off=True)] == [KillSwitchState.OFF]
    # set by another process: seen after a refresh
    other = KillSwitchBoard(repository, clock)
    other.set("GLOBAL", reason="stop", actor="cli", state="WARNING")
    assert gate.check(intent, context) is None
    assert board.in_force("AAPL", "s") == []
    board.refresh()
    assert [s.kind.value for s in board.in_force("AAPL", "s")] == ["GLOBAL"]
    assert gate.warnings(intent, context)


def test_a_limit_no_spec_sets_is_not_asked_and_one_set_anywhere_is() -> None:
    from ordergate.risk.broker_instruments import with_broker_sizes
    from ordergate.risk.chain import GateChain
    from ordergate.risk.limits import (
        LIMIT_GATES,
        InstrumentLimits,
        InstrumentSpec,
        MaxNotionalGate,
    )

    bare = InstrumentSpec(max_qty=None, max_notional_equity_pct=None)
    off = InstrumentLimits(default=bare)
    assert not [kind.name for kind in LIMIT_GATES if kind(off).armed]
    assert not MaxNotionalGate(off, lambda account: Decimal(1)).armed
    chain = GateChain([*(kind(off) for kind in LIMIT_GATES), MaxNotionalGate(off)])
    assert chain._checks == ()  # every limit off: nothing to ask
    # a field set for one instrument arms its gate for every symbol (the gate reads spec)
    one = InstrumentLimits(default=bare, instruments={"AAPL": InstrumentSpec(lot_size=Decimal(10))})
    armed = [kind.name for kind in LIMIT_GATES if kind(one).armed]
    assert armed == ["lot_size", "max_qty"]  # AAPL's spec keeps the default max_qty
    assert MaxNotionalGate(one, lambda account: Decimal(1)).armed  # its equity share
    assert not MaxNotionalGate(one).armed  # without equity only max_notional applies
    assert [
        k.name
        for k in LIMIT_GATES
        if k(InstrumentLimits(tradable=frozenset({"X"}), default=bare)).armed
    ] == ["tradable"]
    # sizes the broker fills in later: armed whatever the configuration says
    filled = with_broker_sizes(off, source=object())  # type: ignore[arg-type]
    assert {"tick_size", "lot_size"} <= {kind.name for kind in LIMIT_GATES if kind(filled).armed}


def test_a_disarmed_limit_gate_would_have_said_go(
    make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    from ordergate.risk.limits import LIMIT_GATES, InstrumentLimits, InstrumentSpec

    off = InstrumentLimits(default=InstrumentSpec(max_qty=None, max_notional_equity_pct=None))
    for kind in LIMIT_GATES:
        gate = kind(off)
        assert not gate.armed
        for intent in (make_intent(), make_intent(qty="0.5", order_type="LIMIT", limit_price="1")):
            assert gate.check(intent, make_context()) is None
