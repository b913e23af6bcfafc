"""Retry with backoff that never duplicates an order (seed 001 scenario 3, seed 000)."""

from __future__ import annotations

from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerTimeout, BrokerUnavailable, ErrorCode
from ordergate.domain.events import SUBMIT_ATTEMPT_TOPIC
from ordergate.resilience.retry import RetryPolicy
from ordergate.resilience.timing import FakeTimer
from ordergate.store.sqlite import SqliteStore
from tests.resilience.conftest import FlakyBroker, intent, make_engine


def attempts_logged(store: SqliteStore, order_id: str) -> list[int]:
    return [
        e.payload["attempt"] for e in store.events_for(order_id) if e.topic == SUBMIT_ATTEMPT_TOPIC
    ]


def test_schedule_is_1_2_4_seconds() -> None:
    assert RetryPolicy.seed_001().delays() == [1.0, 2.0, 4.0]
    assert RetryPolicy(max_retries=5, base_delay=1, max_delay=10).delays() == [1, 2, 4, 8, 10]
    assert RetryPolicy().delays() == []


def test_seed_001_scenario_3_timeouts_retried_with_backoff_then_failed(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    """Given a broker that times out, the order is retried 3 times after 1 s, 2 s and 4 s,
    every attempt is logged, and it ends FAILED — never sent twice in a way that counts."""
    broker = FlakyBroker(clock)
    broker.submit_errors = [(BrokerTimeout("no answer"), False)] * 4
    timer = FakeTimer()
    engine = make_engine(store, broker, clock, retry=RetryPolicy.seed_001(timer))

    report = engine.submit(intent("k1"))

    assert report.status is OrderStatus.FAILED
    assert report.error_code == ErrorCode.E_EXEC_RETRIES_EXHAUSTED.name
    assert timer.sleeps == [1.0, 2.0, 4.0]
    assert broker.submit_calls == 4
    assert broker.lookups == 4  # each timeout was looked up before anything was resent
    assert attempts_logged(store, report.order_id) == [1, 2, 3, 4]
    assert broker.fetch_open_orders() == []


def test_timeout_after_accept_is_adopted_not_resent(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = FlakyBroker(clock, dedupes=False)
    broker.submit_errors = [(BrokerTimeout("reply lost"), True)]
    timer = FakeTimer()
    engine = make_engine(store, broker, clock, retry=RetryPolicy.seed_001(timer))

    report = engine.submit(intent("k1"))

    assert report.status is OrderStatus.FILLED
    assert broker.submit_calls == 1
    assert timer.sleeps == []
    assert attempts_logged(store, report.order_id) == [1]


def test_unavailable_is_retried_and_succeeds(store: SqliteStore, clock: SimulatedClock) -> None:
    broker = FlakyBroker(clock, dedupes=False)
    broker.submit_errors = [(BrokerUnavailable("503"), False)] * 2
    timer = FakeTimer()
    engine = make_engine(store, broker, clock, retry=RetryPolicy.seed_001(timer))

    report = engine.submit(intent("k1"))

    assert report.status is OrderStatus.FILLED
    assert timer.sleeps == [1.0, 2.0]
    assert broker.lookups == 0  # "not received" needs no look-up
    assert attempts_logged(store, report.order_id) == [1, 2]


def test_unknown_outcome_without_dedupe_is_never_resent(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    """Timeout, and the look-up fails too: a resend could duplicate, so the order stays
    SUBMITTED for tracking and recovery."""
    broker = FlakyBroker(clock, dedupes=False)
    broker.submit_errors = [(BrokerTimeout("no answer"), True)]
    broker.lookup_error = BrokerUnavailable("down")
    engine = make_engine(store, broker, clock, retry=RetryPolicy.seed_001(FakeTimer()))

    report = engine.submit(intent("k1"))

    assert report.status is OrderStatus.SUBMITTED
    assert broker.submit_calls == 1
    broker.lookup_error = None
    engine.sync_broker_state()
    assert engine.order(report.order_id).status is OrderStatus.FILLED
    assert len(broker.fetch_positions()) == 1


def test_unknown_outcome_with_dedupe_is_resent_safely(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = FlakyBroker(clock, dedupes=True)
    broker.submit_errors = [(BrokerTimeout("no answer"), True)]
    broker.lookup_error = BrokerUnavailable("down")
    engine = make_engine(store, broker, clock, retry=RetryPolicy.seed_001(FakeTimer()))

    report = engine.submit(intent("k1"))

    assert report.status is OrderStatus.FILLED
    assert broker.submit_calls == 2  # the resend was answered with the same order
    assert [p.qty for p in broker.fetch_positions()] == [10]


def test_no_retries_configured_fails_with_the_error(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = FlakyBroker(clock)
    broker.submit_errors = [(BrokerUnavailable("refused"), False)]
    engine = make_engine(store, broker, clock)

    report = engine.submit(intent("k1"))

    assert report.status is OrderStatus.FAILED
    assert report.error_code == ErrorCode.E_EXEC_BROKER_UNAVAILABLE.name


def test_seed_000_no_duplicate_under_retry_and_replay(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    """Seed 000 acceptance: retries and a replayed key never create a second order."""
    broker = FlakyBroker(clock, dedupes=False)
    broker.submit_errors = [
        (BrokerTimeout("lost"), True),
        (BrokerUnavailable("503"), False),
    ]
    engine = make_engine(store, broker, clock, retry=RetryPolicy.seed_001(FakeTimer()))

    first = engine.submit(intent("k1"))
    again = engine.submit(intent("k1"))

    assert first.status is again.status is OrderStatus.FILLED
    assert again.replayed
    assert [p.qty for p in broker.fetch_positions()] == [10]
    assert [p.qty for p in engine.positions()] == [10]
