"""A breaker that stays open trips a RISK_LIMIT kill switch; one stored alert per opening."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import orjson
import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerUnavailable, ErrorCode
from ordergate.domain.events import CIRCUIT_OPEN_TOPIC, KILL_SWITCH_TRIPPED_TOPIC
from ordergate.engine.engine import ExecutionEngine
from ordergate.resilience import CircuitBreaker, CircuitOpen, FakeTimer, ResilientCall
from ordergate.resilience.escalation import BreakerEscalation, EscalationConfig, switch_target
from ordergate.risk.desk import RiskDesk
from ordergate.risk.killswitch import (
    InMemoryKillSwitchRepository,
    KillSwitchBoard,
    KillSwitchKind,
    KillSwitchState,
)
from ordergate.store.sqlite import SqliteStore
from tests.resilience.conftest import FlakyBroker, intent

Recorded = list[tuple[str, str | None, dict[str, Any]]]


def _recorder(into: Recorded) -> Any:
    def record(topic: str, key: str | None, body: Mapping[str, Any]) -> None:
        into.append((topic, key, dict(body)))

    return record


def _fail(breaker: CircuitBreaker) -> None:
    with pytest.raises(BrokerUnavailable):
        ResilientCall(breaker).call("submit", _raise)


def _raise() -> None:
    raise BrokerUnavailable("down")


@pytest.fixture
def board() -> KillSwitchBoard:
    return KillSwitchBoard(InMemoryKillSwitchRepository(), SimulatedClock())


def test_one_event_per_opening_and_the_switch_trips_past_the_bound(board: KillSwitchBoard) -> None:
    timer = FakeTimer()
    breaker = CircuitBreaker("ib", failure_threshold=2, reset_timeout=30, timer=timer)
    recorded: Recorded = []
    breaker.add_listener(
        BreakerEscalation(board, _recorder(recorded), timer, EscalationConfig(kill_after_s=90))
    )

    _fail(breaker)
    _fail(breaker)  # opens
    for _ in range(5):  # refused while open: no event each
        with pytest.raises(CircuitOpen):
            breaker.before_call()
    assert [topic for topic, _, _ in recorded] == [CIRCUIT_OPEN_TOPIC]
    assert recorded[0][2] == {
        "adapter": "ib",
        "state": "open",
        "previous": "closed",
        "opens": 1,
        "open_for_s": 0,
    }

    for _ in range(2):  # failed probes at 30 s and 60 s: reopenings, under the bound
        timer.advance(30)
        _fail(breaker)
    assert not board.is_active()
    timer.advance(30)
    _fail(breaker)  # the probe at 90 s fails: the outage has lasted the bound

    assert board.is_active()
    [switch] = board.list()
    assert switch.kind is KillSwitchKind.RISK_LIMIT
    assert switch.target == switch_target("ib") == "circuit_breaker:ib"
    assert switch.actor == "circuit_breaker"
    assert "90s" in switch.reason
    topics = [topic for topic, _, _ in recorded]
    assert topics == [CIRCUIT_OPEN_TOPIC] * 4 + [KILL_SWITCH_TRIPPED_TOPIC]
    assert [body["opens"] for _, _, body in recorded[:4]] == [1, 2, 3, 4]


def test_trips_once_per_outage_and_a_close_starts_the_count_again(
    board: KillSwitchBoard,
) -> None:
    timer = FakeTimer()
    breaker = CircuitBreaker("ib", failure_threshold=1, reset_timeout=10, timer=timer)
    recorded: Recorded = []
    breaker.add_listener(
        BreakerEscalation(board, _recorder(recorded), timer, EscalationConfig(kill_after_s=10))
    )
    _fail(breaker)
    timer.advance(10)
    _fail(breaker)  # trips
    board.clear(KillSwitchKind.RISK_LIMIT, "circuit_breaker:ib", reason="looked", actor="ops")
    timer.advance(10)
    _fail(breaker)  # still the same outage: a person's clear stands
    assert not board.is_active()

    timer.advance(10)
    ResilientCall(breaker).call("submit", lambda: None)  # the probe succeeds: closed
    _fail(breaker)  # a new outage, first opening: under the bound
    assert not board.is_active()
    timer.advance(10)
    _fail(breaker)
    assert board.is_active()
    assert [t for t, _, _ in recorded].count(KILL_SWITCH_TRIPPED_TOPIC) == 2


def test_kill_after_zero_records_events_but_never_trips(board: KillSwitchBoard) -> None:
    timer = FakeTimer()
    breaker = CircuitBreaker("ib", failure_threshold=1, reset_timeout=1, timer=timer)
    recorded: Recorded = []
    breaker.add_listener(
        BreakerEscalation(board, _recorder(recorded), timer, EscalationConfig(kill_after_s=0))
    )
    for _ in range(5):
        _fail(breaker)
        timer.advance(1000)
    assert not board.is_active()
    assert len(recorded) == 5


def test_a_store_that_cannot_record_never_replaces_the_broker_error(
    board: KillSwitchBoard,
) -> None:
    timer = FakeTimer()
    breaker = CircuitBreaker("ib", failure_threshold=1, reset_timeout=1, timer=timer)

    def broken(topic: str, key: str | None, body: Mapping[str, Any]) -> None:
        raise OSError("disk full")

    breaker.add_listener(BreakerEscalation(board, broken, timer, EscalationConfig(kill_after_s=1)))
    _fail(breaker)  # raises the broker's BrokerUnavailable, not OSError
    timer.advance(1)
    _fail(breaker)
    assert board.is_active()  # the switch is set even though its event could not be stored


def _stored(store: SqliteStore, topic: str) -> list[dict[str, Any]]:
    return [orjson.loads(m.payload) for m in store.outbox_after(0, 10_000) if m.topic == topic]


def test_engine_records_the_alert_through_the_outbox_and_the_switch_refuses_the_next_submit(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = FlakyBroker(clock)
    timer = FakeTimer()
    breaker = CircuitBreaker("flaky", failure_threshold=1, reset_timeout=30, timer=timer)
    desk = RiskDesk(store, clock, trading_day=lambda when: when.date().isoformat())
    engine = ExecutionEngine(
        store, broker, clock=clock, gates=desk, call_policy=ResilientCall(breaker)
    )
    breaker.add_listener(
        BreakerEscalation(desk.board, engine.record_event, timer, EscalationConfig(kill_after_s=60))
    )
    engine.mark("AAPL", "100")
    broker.submit_errors = [(BrokerUnavailable("refused"), False)] * 10

    def submit(key: str) -> Any:
        clock.advance(timedelta(seconds=5))  # past the duplicate-order window
        return engine.submit(intent(key))

    assert submit("k1").error_code == ErrorCode.E_EXEC_BROKER_UNAVAILABLE.name  # opens
    for key in ("k2", "k3", "k4"):
        assert submit(key).error_code == ErrorCode.E_EXEC_CIRCUIT_OPEN.name
    assert len(_stored(store, CIRCUIT_OPEN_TOPIC)) == 1  # per opening, not per refused order

    timer.advance(30)
    assert submit("k5").error_code == ErrorCode.E_EXEC_BROKER_UNAVAILABLE.name  # failed probe
    assert not desk.board.is_active()
    timer.advance(30)
    assert submit("k6").error_code == ErrorCode.E_EXEC_BROKER_UNAVAILABLE.name  # 60 s: trips
    calls = broker.submit_calls

    refused = submit("k7")
    assert refused.status is OrderStatus.REJECTED
    assert refused.error_code == ErrorCode.E_RISK_KILL_SWITCH.name
    assert "circuit_breaker:flaky" in refused.error_message
    assert broker.submit_calls == calls
    opened = _stored(store, CIRCUIT_OPEN_TOPIC)
    assert [body["opens"] for body in opened] == [1, 2, 3]
    assert opened[0]["schema_version"] == 1
    assert opened[0]["adapter"] == "flaky"
    [tripped] = _stored(store, KILL_SWITCH_TRIPPED_TOPIC)
    assert tripped["target"] == "circuit_breaker:flaky"
    # the switch is stored: a desk built afresh (another process) sees it too
    again = RiskDesk(store, clock, trading_day=lambda when: when.date().isoformat())
    assert again.board.list()[0].state is KillSwitchState.ACTIVE
