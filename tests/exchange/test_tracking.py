"""Order tracking against the exchange: stream or polling, the hard timeout, late fills
(seed 004 scenarios 3 and 4)."""

from __future__ import annotations

import time
from collections.abc import Callable

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.tracking import OrderTracker, TrackingConfig
from ordergate.exchange.faults import FaultKnobs
from ordergate.exchange.server import ExchangeServer
from tests.exchange.conftest import buy


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_seed_004_scenario_3_hard_timeout_cancels_with_reason_timeout(
    engine: ExecutionEngine, broker: ExchangeBroker
) -> None:
    tracker = OrderTracker(engine, TrackingConfig(poll_interval=0.05, hard_timeout=0.3))
    tracker.start()
    try:
        report = engine.submit(buy("k1", order_type="LIMIT", limit_price="90"))
        assert report.status is OrderStatus.ACCEPTED
        wait_for(lambda: engine.order(report.order_id).status is OrderStatus.CANCELED)
    finally:
        tracker.stop()
    order = engine.order(report.order_id)
    assert order.reason == "timeout"
    assert not order.late
    assert broker.fetch_order(order.client_order_id).status is OrderStatus.CANCELED  # type: ignore[union-attr]


def test_seed_004_scenario_4_a_fill_after_the_timeout_is_applied_late(
    engine: ExecutionEngine, broker: ExchangeBroker
) -> None:
    tracker = OrderTracker(engine, TrackingConfig(poll_interval=0.05, hard_timeout=0.3))
    tracker.start()
    try:
        broker.inject("submit", "late_fill_ms=300")
        report = engine.submit(buy("k1", order_type="LIMIT", limit_price="90"))
        wait_for(lambda: engine.order(report.order_id).status is OrderStatus.CANCELED)
        assert engine.order(report.order_id).reason == "timeout"
        wait_for(lambda: engine.order(report.order_id).status is OrderStatus.FILLED)
    finally:
        tracker.stop()
    order = engine.order(report.order_id)
    assert order.late
    assert [f.late for f in engine.fills(order.order_id)] == [True]
    assert [p.qty for p in engine.positions()] == [p.qty for p in broker.fetch_positions()]


def test_polling_takes_over_when_the_stream_is_down(
    exchange: ExchangeServer, engine: ExecutionEngine, broker: ExchangeBroker
) -> None:
    exchange.faults.set(FaultKnobs(stream_down=True))
    wait_for(lambda: not broker.stream_up)
    tracker = OrderTracker(engine, TrackingConfig(poll_interval=0.05, hard_timeout=30))
    tracker.start()
    try:
        report = engine.submit(buy("k1", order_type="LIMIT", limit_price="90"))
        broker.mark("AAPL", "89")
        wait_for(lambda: engine.order(report.order_id).status is OrderStatus.FILLED)
    finally:
        tracker.stop()
    assert not broker.stream_up


def test_duplicate_and_reordered_reports_change_nothing(
    exchange: ExchangeServer, engine: ExecutionEngine, broker: ExchangeBroker
) -> None:
    exchange.faults.set(FaultKnobs(p_duplicate_report=1.0, p_reorder=1.0))
    broker.inject("submit", "fill_parts=3,part_gap_ms=50")
    report = engine.submit(buy("k1", qty="9"))
    wait_for(lambda: engine.order(report.order_id).status is OrderStatus.FILLED)
    time.sleep(0.3)  # let the duplicates and stale reports arrive
    order = engine.order(report.order_id)
    assert order.filled_qty == 9
    assert len(engine.fills(order.order_id)) == 3
    assert [p.qty for p in engine.positions()] == [9]
