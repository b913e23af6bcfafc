"""Order event payloads: the order's view plus the event's fields, whatever the encoding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from hypothesis import given
from hypothesis import strategies as st

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.events import SCHEMA_VERSION
from ordergate.domain.order import Order
from ordergate.engine.payloads import OrderEventPayload, TermsCache
from ordergate.store.base import EventRecord
from ordergate.views import order_state, order_view

T0 = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)
prices = st.one_of(
    st.none(), st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**9), places=4)
)
texts = st.text(max_size=40)


def order(**changes: object) -> Order:
    base = Order(
        order_id="ord_1",
        client_order_id="og1",
        idempotency_key="k-1",
        account_id="acct",
        strategy_id="s1",
        symbol="AAPL",
        side=Side.SELL,
        qty=Decimal("100"),
        order_type=OrderType.LIMIT,
        limit_price=Decimal("150.25"),
        stop_price=None,
        time_in_force=TimeInForce.GTC,
        created_at=T0,
        updated_at=T0,
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


@given(
    status=st.sampled_from(OrderStatus),
    filled=st.decimals(min_value=0, max_value=100, places=3),
    avg=prices,
    arrival=prices,
    reason=texts,
    message=texts,
    broker_id=st.one_of(st.none(), texts),
    parent=st.one_of(st.none(), texts),
    late=st.booleans(),
    attempts=st.integers(0, 9),
)
def test_payload_is_the_order_view_plus_the_event(
    status: OrderStatus,
    filled: Decimal,
    avg: Decimal | None,
    arrival: Decimal | None,
    reason: str,
    message: str,
    broker_id: str | None,
    parent: str | None,
    late: bool,
    attempts: int,
) -> None:
    o = order(
        status=status,
        filled_qty=filled,
        avg_fill_price=avg,
        arrival_price=arrival,
        reason=reason,
        error_message=message,
        error_code="E_X" if message else "",
        broker_order_id=broker_id,
        parent_order_id=parent,
        late=late,
        attempts=attempts,
        updated_at=T0 + timedelta(seconds=attempts),
        version=attempts + 1,
    )
    extra = {"fill": {"exec_id": "x1", "last_qty": "1"}}
    payload = OrderEventPayload(
        TermsCache()(o), "orders.filled", T0, "ACCEPTED", order_state(o), extra
    )
    expected = {
        "schema_version": SCHEMA_VERSION,
        "topic": "orders.filled",
        "ts": T0.isoformat(),
        "prev_status": "ACCEPTED",
        **order_view(o),
        **extra,
    }
    assert orjson.loads(payload()) == expected


def test_the_state_is_taken_when_the_event_happens() -> None:
    o = order()
    record = EventRecord(
        o.order_id,
        "orders.pending",
        None,
        "PENDING",
        OrderEventPayload(TermsCache()(o), "orders.pending", T0, None, order_state(o), {}),
        T0,
    )
    o.status, o.version = OrderStatus.SUBMITTED, 7  # the order moves on before the flush
    body = orjson.loads(record.payload)
    assert (body["status"], body["version"]) == ("PENDING", 0)
    assert record.payload is record.payload  # encoded once


def test_terms_cache_forgets_the_oldest_order() -> None:
    cache = TermsCache(size=2)
    first, second, third = order(order_id="a"), order(order_id="b"), order(order_id="c")
    a = cache(first)
    cache(second)
    assert cache(first) is a
    cache(third)
    assert cache(first) is not a  # evicted, encoded again
    assert cache(first) == a
