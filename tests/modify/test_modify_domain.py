"""The replace events on the order: the edge table, the terms changing only when the
broker confirms, illegal moves raising; the replace's client order id."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordergate.domain.capabilities import BrokerCapabilities
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import ErrorCode, IllegalTransition, OrderGateError
from ordergate.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderSubmitted,
    PendingReplace,
    Replaced,
    ReplaceKind,
    ReplaceRejected,
    ReplaceRequested,
)
from ordergate.domain.fills import Fill
from ordergate.domain.order import REPLACE_EDGES, Order
from ordergate.engine.modify import replace_client_id
from ordergate.store.rows import order_from_row, order_values

T = datetime(2030, 1, 1, tzinfo=UTC)
D = Decimal


def working(status: OrderStatus = OrderStatus.ACCEPTED) -> Order:
    order = Order(
        order_id="o1", client_order_id="og1", idempotency_key="k", account_id="a",
        strategy_id="s", symbol="AAPL", side=Side.BUY, qty=D(10), order_type=OrderType.LIMIT,
        limit_price=D(90), stop_price=None, time_in_force=TimeInForce.GTC, created_at=T,
        updated_at=T,
    )  # fmt: skip
    order.apply(OrderSubmitted(ts=T))
    order.apply(OrderAccepted(ts=T, broker_order_id="B1"))
    return order


def pending(
    number: int = 1, qty: str = "15", kind: ReplaceKind = ReplaceKind.IN_PLACE
) -> PendingReplace:
    return PendingReplace(
        number=number, client_order_id=f"og1.r{number}", kind=kind, qty=D(qty),
        limit_price=D(95), stop_price=None, key="m", digest="d", ts=T,
    )  # fmt: skip


def fill(qty: str, exec_id: str = "e1") -> Fill:
    return Fill(
        exec_id=exec_id, order_id="o1", symbol="AAPL", side=Side.BUY, last_qty=D(qty),
        last_px=D(90), commission=D(0), ts=T,
    )  # fmt: skip


def test_terms_change_only_when_the_broker_confirms() -> None:
    order = working()
    order.apply(ReplaceRequested(ts=T, replace=pending()))
    assert order.status is OrderStatus.ACCEPTED, "a pending replace changes no status"
    assert (order.qty, order.limit_price) == (D(10), D(90))
    assert order.pending_replace is not None
    order.apply(Replaced(ts=T))
    assert (order.qty, order.limit_price, order.replace_no) == (D(15), D(95), 1)
    assert order.pending_replace is None


def test_illegal_replace_moves_raise() -> None:
    order = working()
    with pytest.raises(IllegalTransition):
        order.apply(Replaced(ts=T))  # nothing pending
    order.apply(ReplaceRequested(ts=T, replace=pending()))
    with pytest.raises(IllegalTransition):
        order.apply(ReplaceRequested(ts=T, replace=pending(2)))  # one at a time
    order.apply(ReplaceRejected(ts=T, code=ErrorCode.E_EXEC_BROKER_REJECTED, message="no"))
    assert order.error_code == "E_EXEC_BROKER_REJECTED"
    with pytest.raises(IllegalTransition):
        order.apply(ReplaceRequested(ts=T, replace=pending(3)))  # numbers run in order
    order.apply(OrderCanceled(ts=T))
    with pytest.raises(IllegalTransition) as info:
        order.apply(ReplaceRequested(ts=T, replace=pending(2)))
    assert "CANCELED" in info.value.message


def test_a_new_total_at_or_below_the_filled_quantity_raises() -> None:
    order = working()
    order.apply(ReplaceRequested(ts=T, replace=pending(qty="6")))
    order.apply(OrderFilled(ts=T, fill=fill("6")))  # a fill on the old terms came first
    with pytest.raises(OrderGateError) as info:
        order.apply(Replaced(ts=T))
    assert info.value.code is ErrorCode.E_ORDER_MODIFY_INVALID
    with pytest.raises(OrderGateError):
        working().apply(ReplaceRequested(ts=T, replace=pending(qty="0")))


def test_a_new_order_replace_hands_over_only_once_canceled() -> None:
    order = working()
    order.apply(ReplaceRequested(ts=T, replace=pending(kind=ReplaceKind.NEW_ORDER)))
    with pytest.raises(IllegalTransition):
        order.apply(Replaced(ts=T, replacement_order_id="o2"))  # still working
    order.apply(OrderCanceled(ts=T, reason="replace"))
    order.apply(Replaced(ts=T, replacement_order_id="o2"))
    assert order.qty == D(10), "the old order keeps its terms; the new one has the rest"
    assert order.pending_replace is None


def test_every_edge_names_a_replace_event_and_a_reason() -> None:
    assert {event for event, _ in REPLACE_EDGES} == {
        "ReplaceRequested",
        "Replaced",
        "ReplaceRejected",
    }
    assert all(reason for reason in REPLACE_EDGES.values())


def test_the_pending_replace_survives_the_row() -> None:
    order = working()
    order.apply(ReplaceRequested(ts=T, replace=pending()))
    again = order_from_row(order_values(order))
    assert again.pending_replace == order.pending_replace
    assert again.replace_no == 1
    assert order.copy().pending_replace == order.pending_replace


def test_the_replace_id_fits_the_brokers_rules() -> None:
    loose = BrokerCapabilities()
    assert replace_client_id(loose, "og" + "a" * 24, 3) == "og" + "a" * 24 + ".r3"
    no_dots = BrokerCapabilities(client_id_alphabet=r"[A-Za-z0-9]+")
    assert replace_client_id(no_dots, "og1", 2) == "og1r2"
    short = BrokerCapabilities(client_id_max_length=26)
    cid = replace_client_id(short, "og" + "b" * 24, 1)
    assert len(cid) == 26
    assert cid == replace_client_id(short, "og" + "b" * 24, 1), "the same for the same replace"
    assert cid != replace_client_id(short, "og" + "b" * 24, 2)
