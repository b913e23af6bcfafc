"""The order lifecycle: every legal transition works, every other one is refused."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.domain.enums import TERMINAL_STATUSES, OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import ErrorCode, IllegalTransition, OrderGateError
from ordergate.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from ordergate.domain.fills import Fill
from ordergate.domain.order import TRANSITIONS, Order, check_transition

T0 = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)
ALL_PAIRS = list(itertools.product(OrderStatus, OrderStatus))


def make_order(status: OrderStatus = OrderStatus.PENDING, qty: str = "100") -> Order:
    return Order(
        order_id="ord_1",
        client_order_id="og1",
        idempotency_key="k1",
        account_id="default",
        strategy_id="s1",
        symbol="AAPL",
        side=Side.BUY,
        qty=Decimal(qty),
        order_type=OrderType.MARKET,
        limit_price=None,
        stop_price=None,
        time_in_force=TimeInForce.DAY,
        created_at=T0,
        updated_at=T0,
        status=status,
    )


def fill(qty: str, px: str = "10", exec_id: str = "e1") -> OrderFilled:
    return OrderFilled(
        ts=T0,
        fill=Fill(
            exec_id=exec_id,
            order_id="ord_1",
            symbol="AAPL",
            side=Side.BUY,
            last_qty=Decimal(qty),
            last_px=Decimal(px),
            ts=T0,
        ),
    )


@pytest.mark.parametrize(("current", "target"), sorted(TRANSITIONS))
def test_every_legal_transition_is_accepted(current: OrderStatus, target: OrderStatus) -> None:
    check_transition(current, target)


ILLEGAL = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_transition_names_from_and_to(
    current: OrderStatus, target: OrderStatus
) -> None:
    with pytest.raises(IllegalTransition) as err:
        check_transition(current, target)
    assert f"{current} -> {target}" in str(err.value)
    assert err.value.code is ErrorCode.E_ORDER_ILLEGAL_TRANSITION


def test_illegal_set_is_not_empty_and_terminal_states_are_final() -> None:
    assert len(ILLEGAL) > 50
    for terminal in (OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.FAILED):
        assert not [t for (f, t) in TRANSITIONS if f is terminal]
    # a canceled or expired order may only still take a (late) fill
    for final in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
        assert {t for (f, t) in TRANSITIONS if f is final} == {final, OrderStatus.FILLED}


def test_every_status_is_reachable_from_pending() -> None:
    reachable = {OrderStatus.PENDING}
    frontier = [OrderStatus.PENDING]
    while frontier:
        current = frontier.pop()
        for f, t in TRANSITIONS:
            if f is current and t not in reachable:
                reachable.add(t)
                frontier.append(t)
    assert reachable == set(OrderStatus)


def test_happy_path_pending_submitted_accepted_partial_filled() -> None:
    order = make_order()
    order.apply(OrderSubmitted(ts=T0))
    order.apply(OrderAccepted(ts=T0, broker_order_id="B1"))
    order.apply(fill("40", "10", "e1"))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    order.apply(fill("60", "11", "e2"))
    assert order.status is OrderStatus.FILLED
    assert order.filled_qty == Decimal(100)
    assert order.avg_fill_price == Decimal("10.6")
    assert order.broker_order_id == "B1"
    assert order.version == 4


def test_a_filled_order_cannot_be_rejected_and_stays_filled() -> None:
    order = make_order(OrderStatus.FILLED)
    with pytest.raises(IllegalTransition):
        order.apply(OrderRejected(ts=T0, code=ErrorCode.E_EXEC_BROKER_REJECTED, message="no"))
    assert order.status is OrderStatus.FILLED


def test_overfill_is_refused_and_changes_nothing() -> None:
    order = make_order(OrderStatus.ACCEPTED, qty="10")
    with pytest.raises(OrderGateError) as err:
        order.apply(fill("11"))
    assert err.value.code is ErrorCode.E_ORDER_OVERFILL
    assert order.filled_qty == 0
    assert order.status is OrderStatus.ACCEPTED


def test_late_fill_after_cancel_is_applied_and_marked_late() -> None:
    order = make_order(OrderStatus.ACCEPTED)
    order.apply(OrderCancelRequested(ts=T0, reason="timeout"))
    order.apply(OrderCanceled(ts=T0, reason="timeout"))
    order.apply(fill("30", exec_id="late-1"))
    assert order.status is OrderStatus.CANCELED
    assert order.late
    order.apply(fill("70", exec_id="late-2"))
    assert order.status is OrderStatus.FILLED
    assert order.late
    assert order.reason == "timeout"


def test_cancel_refused_returns_to_working() -> None:
    order = make_order(OrderStatus.ACCEPTED)
    order.apply(OrderCancelRequested(ts=T0))
    order.apply(OrderCancelRejected(ts=T0, message="too late"))
    assert order.status is OrderStatus.ACCEPTED
    order.apply(fill("10"))
    order.apply(OrderCancelRequested(ts=T0))
    order.apply(OrderCancelRejected(ts=T0, message="too late"))
    assert order.status is OrderStatus.PARTIALLY_FILLED


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=12))
def test_random_walks_never_leave_the_table(path: list[OrderStatus]) -> None:
    """Whatever sequence of targets is tried, each accepted move is in the table and a
    refused move leaves the status unchanged."""
    current = OrderStatus.PENDING
    for target in path:
        try:
            check_transition(current, target)
        except IllegalTransition:
            assert (current, target) not in TRANSITIONS
            continue
        assert (current, target) in TRANSITIONS
        current = target
    assert current in OrderStatus
    assert set(OrderStatus) >= TERMINAL_STATUSES


def test_copy_is_complete() -> None:
    """``Order.copy`` lists its fields by hand: every field must be in it."""
    from dataclasses import fields

    order = make_order()
    for f in fields(Order):
        setattr(order, f.name, object())  # a distinct marker in every field
    clone = order.copy()
    assert clone is not order
    missing = [
        f.name for f in fields(Order) if getattr(clone, f.name) is not getattr(order, f.name)
    ]
    assert missing == []
