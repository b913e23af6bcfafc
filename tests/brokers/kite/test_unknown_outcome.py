"""Kite dedupes nothing: a ``place_order`` whose answer is lost ends with *one* order,
adopted by its tag; with a lagging order book it ends unknown and reported — never
placed twice (the resend rule, DESIGN.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from ordergate.brokers.kite.adapter import KiteBroker
from ordergate.brokers.kite.tags import tag_for
from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.tracking import OrderTracker, TrackingConfig
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.memory import MemoryStore
from tests.brokers.kite.fake_kite import FakeKite
from tests.brokers.kite.kit import make_adapter


@pytest.fixture
def adapter(fake: FakeKite) -> Iterator[KiteBroker]:
    broker = make_adapter(fake, timeout=1.0)
    yield broker
    broker.close()


def _engine(adapter: KiteBroker) -> ExecutionEngine:
    return ExecutionEngine(
        MemoryStore(), adapter, retry=RetryPolicy(max_retries=3, base_delay=0.01)
    )


def _intent(key: str) -> dict[str, str]:
    return {"idempotency_key": key, "symbol": "INFY", "side": "BUY", "qty": "5"}


def test_a_lost_reply_ends_with_one_order_adopted_by_its_tag(
    fake: FakeKite, adapter: KiteBroker
) -> None:
    engine = _engine(adapter)
    fake.lose_next_reply()
    report = engine.submit(_intent("lost-1"))
    assert report.status is OrderStatus.FILLED, report
    orders = fake.all_orders()
    assert len(orders) == 1, "placed exactly once"
    order = engine.store.get_order(report.order_id)
    assert order is not None
    assert orders[0]["tag"] == tag_for(order.client_order_id)
    assert order.filled_qty == Decimal(5)


def test_a_lost_reply_with_a_lagging_book_stays_unknown_and_is_reported(
    fake: FakeKite, adapter: KiteBroker
) -> None:
    engine = _engine(adapter)
    fake.book_lag_s = 60.0  # the order is placed, but the book will not show it
    fake.lose_next_reply()
    report = engine.submit(_intent("lagging-1"))
    assert report.status is OrderStatus.SUBMITTED, "unknown: neither placed nor failed"
    tracker = OrderTracker(
        engine, TrackingConfig(poll_interval=0.02, unknown_after=0.0, unknown_report_after=0.2)
    )
    deadline = time.monotonic() + 5
    while report.order_id not in tracker.unknown_reports and time.monotonic() < deadline:
        tracker.tick()
        time.sleep(0.03)
    assert report.order_id in tracker.unknown_reports, "reported for a person"
    order = engine.store.get_order(report.order_id)
    assert order is not None
    assert order.status is OrderStatus.SUBMITTED
    assert len(fake.all_orders()) == 1, "never placed twice"
    placed = [p for p in fake.placements if p[1] == 200]
    assert len(placed) == 1
    # once the book shows it, tracking adopts it: still one order
    for o in fake.orders.values():
        o.visible_at = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        tracker.tick()
        order = engine.store.get_order(report.order_id)
        if order is not None and order.status is OrderStatus.FILLED:
            break
        time.sleep(0.03)
    assert order is not None
    assert order.status is OrderStatus.FILLED
    assert len(fake.all_orders()) == 1


def test_a_refused_placement_is_retried_and_placed_once(
    fake: FakeKite, adapter: KiteBroker
) -> None:
    engine = _engine(adapter)
    fake.refuse_next()  # 429: nothing was done, safe to send again
    report = engine.submit(_intent("refused-1"))
    assert report.status is OrderStatus.FILLED
    assert [p[1] for p in fake.placements] == [429, 200]
    assert len(fake.all_orders()) == 1
