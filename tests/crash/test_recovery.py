"""Startup recovery, in process: an engine 'dies' (BaseException) at a step, a new one
recovers from the same store and broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerUnavailable, ErrorCode
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.recovery import recover
from ordergate.store.base import OrderQuery
from ordergate.store.sqlite import SqliteStore
from tests.resilience.conftest import FlakyBroker

T = TypeVar("T")


class Died(BaseException):
    """The process ends here (nothing after it runs)."""


class DieAt:
    """A call policy that kills the 'process' before or after one operation."""

    def __init__(self, operation: str, *, after: bool) -> None:
        self.operation = operation
        self.after = after

    def call(self, operation: str, fn: Callable[[], T]) -> T:
        if operation == self.operation and not self.after:
            raise Died
        result = fn()
        if operation == self.operation:
            raise Died
        return result


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "og.db")
    s.migrate()
    yield s
    s.close()


def crash_then_recover(
    store: SqliteStore, broker: PaperBroker, clock: SimulatedClock, policy: DieAt, intent: dict
) -> tuple[ExecutionEngine, str]:
    doomed = ExecutionEngine(store, broker, clock=clock, call_policy=policy)
    doomed.mark("AAPL", "100")
    with pytest.raises(Died):
        doomed.submit(intent)
    order_id = store.list_orders(OrderQuery())[0].order_id
    return ExecutionEngine(store, broker, clock=clock), order_id


BUY = {"idempotency_key": "k1", "symbol": "AAPL", "side": "BUY", "qty": "10"}


def test_sent_but_reply_lost_is_adopted_with_its_fills(store: SqliteStore) -> None:
    clock = SimulatedClock()
    broker = PaperBroker(clock=clock)
    engine, order_id = crash_then_recover(store, broker, clock, DieAt("submit", after=True), BUY)
    assert engine.order(order_id).status is OrderStatus.SUBMITTED

    report = recover(engine)

    assert report.adopted == [order_id]
    assert report.fills_applied == 1
    assert engine.order(order_id).status is OrderStatus.FILLED
    assert [p.qty for p in engine.positions()] == [10]


def test_never_sent_is_resubmitted_once(store: SqliteStore) -> None:
    clock = SimulatedClock()
    broker = FlakyBroker(clock, dedupes=False)
    engine, order_id = crash_then_recover(store, broker, clock, DieAt("submit", after=False), BUY)

    report = recover(engine)

    assert report.resubmitted == [order_id]
    assert engine.order(order_id).status is OrderStatus.FILLED
    assert broker.submit_calls == 1
    assert recover(engine).adopted == []  # nothing left in flight
    assert engine.submit(BUY).replayed


def test_expired_intent_is_failed_not_sent(store: SqliteStore) -> None:
    clock = SimulatedClock()
    broker = FlakyBroker(clock)
    expiring = {**BUY, "expire_at": (clock.now() + timedelta(seconds=5)).isoformat()}
    engine, order_id = crash_then_recover(
        store, broker, clock, DieAt("submit", after=False), expiring
    )
    clock.advance(timedelta(seconds=10))

    report = recover(engine)

    assert report.failed == [order_id]
    assert engine.order(order_id).error_code == ErrorCode.E_INTENT_EXPIRED.name
    assert broker.submit_calls == 0


def test_a_failed_look_up_leaves_the_order_for_later(store: SqliteStore) -> None:
    clock = SimulatedClock()
    broker = FlakyBroker(clock)
    engine, order_id = crash_then_recover(store, broker, clock, DieAt("submit", after=True), BUY)
    broker.lookup_error = BrokerUnavailable("down")

    report = recover(engine)

    assert report.unresolved == [order_id]
    assert engine.order(order_id).status is OrderStatus.SUBMITTED
    broker.lookup_error = None
    assert recover(engine).adopted == [order_id]


def test_pending_cancel_is_canceled_again(store: SqliteStore) -> None:
    clock = SimulatedClock()
    broker = PaperBroker(clock=clock)
    engine = ExecutionEngine(store, broker, clock=clock)
    engine.mark("AAPL", "100")
    resting = engine.submit({**BUY, "order_type": "LIMIT", "limit_price": "90"})
    doomed = ExecutionEngine(store, broker, clock=clock, call_policy=DieAt("cancel", after=False))
    with pytest.raises(Died):
        doomed.cancel(resting.order_id)
    assert engine.order(resting.order_id).status is OrderStatus.PENDING_CANCEL

    recover(engine)

    assert engine.order(resting.order_id).status is OrderStatus.CANCELED
