"""Circuit breaker: closed, open, half-open with one probe; fast fail in the engine."""

from __future__ import annotations

from typing import Any

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerRejected, BrokerTimeout, BrokerUnavailable, ErrorCode
from ordergate.resilience import CircuitBreaker, CircuitOpen, CircuitState, FakeTimer, ResilientCall
from ordergate.resilience.escalation import BreakerEscalation
from ordergate.store.sqlite import SqliteStore
from tests.resilience.conftest import FlakyBroker, intent, make_engine


def fail() -> None:
    raise BrokerUnavailable("down")


def test_opens_after_threshold_then_half_open_probe_closes_it() -> None:
    timer = FakeTimer()
    changes: list[tuple[str, str]] = []
    breaker = CircuitBreaker("x", failure_threshold=3, reset_timeout=10, timer=timer)
    breaker.add_listener(lambda name, old, new: changes.append((old.value, new.value)))
    policy = ResilientCall(breaker)
    for _ in range(3):
        with pytest.raises(BrokerUnavailable):
            policy.call("submit", fail)
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpen) as info:
        policy.call("submit", lambda: 1)
    assert info.value.code is ErrorCode.E_EXEC_CIRCUIT_OPEN
    assert info.value.retryable

    timer.advance(10)
    breaker.before_call()  # the probe
    assert breaker.state is CircuitState.HALF_OPEN
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # only one probe at a time
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_failed_probe_reopens_and_rejects_do_not_count() -> None:
    timer = FakeTimer()
    breaker = CircuitBreaker("x", failure_threshold=1, reset_timeout=5, timer=timer)
    policy = ResilientCall(breaker)

    def reject() -> None:
        raise BrokerRejected("no")

    for _ in range(5):
        with pytest.raises(BrokerRejected):
            policy.call("submit", reject)
    assert breaker.state is CircuitState.CLOSED
    with pytest.raises(BrokerTimeout):
        policy.call("submit", lambda: (_ for _ in ()).throw(BrokerTimeout("slow")))
    assert breaker.state is CircuitState.OPEN
    timer.advance(5)
    with pytest.raises(BrokerUnavailable):
        policy.call("submit", fail)
    assert breaker.state is CircuitState.OPEN
    assert breaker.snapshot()["opens_in_row"] == 2


def test_engine_fails_fast_with_circuit_open_and_emits_the_ops_event(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = FlakyBroker(clock)
    timer = FakeTimer()
    breaker = CircuitBreaker("flaky", failure_threshold=1, reset_timeout=60, timer=timer)
    engine = make_engine(store, broker, clock, policy=ResilientCall(breaker))
    breaker.add_listener(BreakerEscalation(None, engine.record_event, timer))
    seen: list[Any] = []
    engine.subscribe("ops.broker.*", seen.append)
    broker.submit_errors = [(BrokerUnavailable("refused"), False)]

    first = engine.submit(intent("k1"))
    second = engine.submit(intent("k2"))

    assert first.status is OrderStatus.FAILED
    assert first.error_code == ErrorCode.E_EXEC_BROKER_UNAVAILABLE.name
    assert second.status is OrderStatus.FAILED
    assert second.error_code == ErrorCode.E_EXEC_CIRCUIT_OPEN.name
    assert broker.submit_calls == 1  # the second never reached the broker
    assert [e.topic for e in seen] == ["ordergate.ops.broker.circuit_open"]
    assert seen[0].payload["adapter"] == "flaky"
