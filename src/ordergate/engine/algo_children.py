"""A parent's children as the algorithm sees them, read from the store.

The children are ordinary orders under the keys ``<parent key>/slice-N``. The first
look after a start finds them all by their keys (a restarted engine knows every child
the last one made); afterwards the desk adds each child it makes. A child whose figures
can no longer change (filled in full, or refused before a broker saw it) is kept; any
other is read again on every look — a canceled child may still get a late fill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from ordergate.algos.parent import ChildState, ParentOrder, slice_key
from ordergate.domain.enums import OrderStatus
from ordergate.domain.money import ZERO
from ordergate.domain.order import Order
from ordergate.store.base import Store

#: when the slice of a child made at a time ends, for a parent (None: never)
EndsAt = Callable[[ParentOrder, datetime], datetime | None]


class ChildBook:
    def __init__(self, store: Store, ends_at: EndsAt) -> None:
        self._store = store
        self._ends_at = ends_at
        self._ids: dict[str, list[str]] = {}
        self._final: dict[str, ChildState] = {}

    def add(self, parent: ParentOrder, order_id: str) -> None:
        """The desk made (or found) the parent's next child."""
        ids = self._ids_of(parent)
        if order_id not in ids:
            ids.append(order_id)

    def states(self, parent: ParentOrder) -> list[ChildState]:
        """The parent's children as stored, slice 1 first."""
        states: list[ChildState] = []
        for number, order_id in enumerate(self._ids_of(parent), start=1):
            state = self._final.get(order_id)
            if state is None:
                order = self._store.get_order(order_id)
                if order is None:
                    continue
                state = self._state(parent, number, order)
                if settled(order):
                    self._final[order_id] = state
            states.append(state)
        return states

    def _ids_of(self, parent: ParentOrder) -> list[str]:
        ids = self._ids.get(parent.parent_id)
        if ids is None:  # the first look since this engine started: the store has them all
            ids = self._ids[parent.parent_id] = list(self._probe(parent))
        return ids

    def _probe(self, parent: ParentOrder) -> Iterator[str]:
        number = 1
        with self._store.transaction() as tx:
            while True:
                key = slice_key(parent.idempotency_key, number)
                stored = tx.find_intent(parent.account_id, key)
                if stored is None:
                    return
                yield stored.order_id
                number += 1

    def _state(self, parent: ParentOrder, number: int, order: Order) -> ChildState:
        return ChildState(
            order_id=order.order_id,
            slice_no=number,
            qty=order.qty,
            filled=order.filled_qty,
            leaves=order.leaves_qty if order.is_open else ZERO,
            is_open=order.is_open,
            cancel_pending=order.status is OrderStatus.PENDING_CANCEL,
            created_at=order.created_at,
            ends_at=self._ends_at(parent, order.created_at),
            avg_price=order.avg_fill_price,
            status=order.status.value,
        )


def settled(order: Order) -> bool:
    """A child whose figures can no longer change: filled in full, or refused before
    any broker saw it (a cancel can still be followed by a late fill: not settled)."""
    if order.status is OrderStatus.FILLED:
        return True
    return order.status in (OrderStatus.REJECTED, OrderStatus.FAILED) and order.filled_qty == 0
