"""Rate limit and throttle queue callers (seed 001 scenario 6); a full queue says so."""

from __future__ import annotations

import threading
import time

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerTimeout, ErrorCode
from ordergate.resilience import (
    CircuitBreaker,
    FakeTimer,
    QueueFull,
    ResilientCall,
    TokenBucket,
    WindowThrottle,
)
from ordergate.resilience.timeout import call_with_timeout
from ordergate.store.sqlite import SqliteStore
from tests.resilience.conftest import FlakyBroker, intent, make_engine


def test_seed_001_scenario_6_orders_queue_under_20_per_second(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    """50 orders at a broker limited to 20 requests/s: all go through, none sees an error,
    and they are spaced so no second holds more than 20 broker requests."""
    timer = FakeTimer()
    broker = FlakyBroker(clock)
    sent_at: list[float] = []
    original = broker.submit

    def timed_submit(request):  # type: ignore[no-untyped-def]
        sent_at.append(timer.monotonic())
        return original(request)

    broker.submit = timed_submit  # type: ignore[method-assign]
    policy = ResilientCall(
        CircuitBreaker("flaky", timer=timer), rate_limit=WindowThrottle(20, 1.0, timer=timer)
    )
    engine = make_engine(store, broker, clock, policy=policy)

    reports = [engine.submit(intent(f"k{i}", qty="1")) for i in range(50)]

    assert all(r.status is OrderStatus.FILLED for r in reports)
    assert len(sent_at) == 50
    for i in range(len(sent_at) - 20):
        assert sent_at[i + 20] - sent_at[i] >= 1.0 - 1e-9
    assert sent_at[-1] == pytest.approx(2.0)  # 20 at 0 s, 20 at 1 s, 10 at 2 s


def test_real_threads_wait_in_line_without_errors() -> None:
    bucket = TokenBucket(20, burst=5)
    errors: list[BaseException] = []
    done: list[float] = []
    start = time.monotonic()

    def worker() -> None:
        try:
            for _ in range(3):
                bucket.acquire()
                done.append(time.monotonic() - start)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert len(done) == 15
    assert max(done) >= (15 - 5) / 20 * 0.9


def test_bounded_queue_answers_queue_full() -> None:
    timer = FakeTimer()
    bucket = TokenBucket(1, burst=1, max_queue=0, timer=timer)
    bucket.acquire()
    with pytest.raises(QueueFull) as info:
        bucket.acquire()
    assert info.value.code is ErrorCode.E_EXEC_QUEUE_FULL
    assert info.value.retryable


def test_queue_full_fails_the_order_unsent(store: SqliteStore, clock: SimulatedClock) -> None:
    timer = FakeTimer()
    broker = FlakyBroker(clock)
    policy = ResilientCall(
        CircuitBreaker("flaky", timer=timer),
        rate_limit=TokenBucket(1, burst=1, max_queue=0, timer=timer),
    )
    engine = make_engine(store, broker, clock, policy=policy)
    assert engine.submit(intent("k1")).status is OrderStatus.FILLED
    report = engine.submit(intent("k2"))
    assert report.status is OrderStatus.FAILED
    assert report.error_code == ErrorCode.E_EXEC_QUEUE_FULL.name
    assert broker.submit_calls == 1


def test_throttle_120_orders_per_minute() -> None:
    timer = FakeTimer()
    throttle = WindowThrottle(120, 60, timer=timer)
    waits = [throttle.acquire() for _ in range(121)]
    assert waits[:120] == [0.0] * 120
    assert waits[120] == pytest.approx(60.0)
    policy = ResilientCall(
        CircuitBreaker("x", timer=timer), throttle=WindowThrottle(2, 60, timer=timer)
    )
    for _ in range(3):
        policy.call("fetch_order", lambda: None)  # reads are not orders
    assert timer.monotonic() == pytest.approx(60.0)
    policy.call("submit", lambda: None)
    policy.call("submit", lambda: None)
    policy.call("submit", lambda: None)
    assert timer.monotonic() == pytest.approx(120.0)


def test_timeout_guard() -> None:
    assert call_with_timeout(lambda: 7, 1.0) == 7
    with pytest.raises(BrokerTimeout) as info:
        call_with_timeout(lambda: time.sleep(0.5), 0.05, "submit")
    assert info.value.code is ErrorCode.E_EXEC_BROKER_TIMEOUT
    with pytest.raises(ZeroDivisionError):
        call_with_timeout(lambda: 1 // 0, 1.0)


def test_a_window_counts_a_slot_from_its_answer_when_told() -> None:
    """Two a second, the first call answered 0.5 s after its send: the third slot opens
    one second after that answer (1.5), not after the send (1.0) — so a delay on the
    way to the server never lands three requests in one of its seconds."""
    timer = FakeTimer()
    throttle = WindowThrottle(2, 1.0, timer=timer)
    assert throttle.acquire() == 0.0
    timer.advance(0.5)
    throttle.answered()
    timer.advance(0.1)
    assert throttle.acquire() == 0.0
    timer.advance(0.1)
    throttle.answered()
    timer.advance(0.1)  # now 0.8
    assert throttle.acquire() == pytest.approx(0.7)
