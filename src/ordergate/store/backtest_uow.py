"""The backtest store's unit of work: writes are staged, and applied only on a clean exit.

Reads inside it see its own staged writes first, then the store
(:class:`~ordergate.store.backtest.BacktestStore`). The checks the port promises are
made as the write is staged: a taken key raises :class:`DuplicateKey`, a stale version
:class:`StaleOrder`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.order import Order
from ordergate.domain.positions import Position
from ordergate.store.base import BookedFill, DuplicateKey, EventRecord, StaleOrder, StoredIntent


class Committed(Protocol):
    """What a unit of work reads of the store (:class:`~ordergate.store.backtest.BacktestStore`)."""

    orders: dict[str, Order]
    open_ids: dict[str, None]
    positions_by: dict[tuple[str, str], Position]
    marks_by: dict[str, Mark]

    def find_intent(self, account_id: str, idempotency_key: str) -> StoredIntent | None: ...
    def order(self, order_id: str) -> Order | None: ...
    def order_id_of_client(self, client_order_id: str) -> str | None: ...
    def known_fill(self, order_id: str, exec_id: str) -> bool: ...
    def booked(self, order_id: str, exec_id: str) -> BookedFill | None: ...
    def booked_fills(self, account_id: str, symbol: str) -> list[BookedFill]: ...


class Staged:
    """What one unit of work will apply."""

    __slots__ = (
        "amendments",
        "events",
        "fill_keys",
        "fills",
        "intents",
        "marks",
        "orders",
        "positions",
        "receipts",
    )

    def __init__(self) -> None:
        self.intents: list[StoredIntent] = []
        self.orders: dict[str, Order] = {}
        self.events: list[EventRecord] = []
        self.fills: list[tuple[Fill, str, str, Decimal, str]] = []
        self.fill_keys: set[tuple[str, str]] = set()
        self.positions: dict[tuple[str, str], Position] = {}
        self.marks: dict[str, Mark] = {}
        self.receipts: list[tuple[str, str]] = []
        #: (order id, exec id) -> the fill as amended (busted or corrected)
        self.amendments: dict[tuple[str, str], BookedFill] = {}


class BacktestUnitOfWork:
    __slots__ = ("_s", "_store")

    def __init__(self, store: Committed, staged: Staged) -> None:
        self._store = store
        self._s = staged

    def find_intent(self, account_id: str, idempotency_key: str) -> StoredIntent | None:
        for intent in self._s.intents:
            if intent.account_id == account_id and intent.idempotency_key == idempotency_key:
                return intent
        return self._store.find_intent(account_id, idempotency_key)

    def insert_intent(self, intent: StoredIntent) -> None:
        if self.find_intent(intent.account_id, intent.idempotency_key) is not None:
            raise DuplicateKey(f"duplicate idempotency key {intent.idempotency_key!r}")
        self._s.intents.append(intent)

    def insert_order(self, order: Order, intent_id: str) -> None:
        staged = self._s.orders
        if (
            order.order_id in staged
            or self._store.order(order.order_id) is not None
            or any(o.client_order_id == order.client_order_id for o in staged.values())
            or self._store.order_id_of_client(order.client_order_id) is not None
        ):
            raise DuplicateKey(f"duplicate order {order.order_id}")
        staged[order.order_id] = order.copy()

    def update_order(self, order: Order, expected_version: int) -> None:
        stored = self._current(order.order_id)
        if stored is None or stored.version != expected_version:
            raise StaleOrder(
                f"order {order.order_id} changed underneath this update "
                f"(expected version {expected_version})"
            )
        self._s.orders[order.order_id] = order.copy()

    def _current(self, order_id: str) -> Order | None:
        staged = self._s.orders.get(order_id)
        return staged if staged is not None else self._store.order(order_id)

    def get_order(self, order_id: str) -> Order | None:
        order = self._current(order_id)
        return None if order is None else order.copy()

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        for order in self._s.orders.values():
            if order.client_order_id == client_order_id:
                return order.copy()
        order_id = self._store.order_id_of_client(client_order_id)
        return None if order_id is None else self.get_order(order_id)

    def open_orders_for(self, account_id: str, symbol: str | None = None) -> list[Order]:
        store, staged = self._store, self._s.orders
        out = []
        for order_id in store.open_ids:
            o = staged.get(order_id) or store.orders[order_id]
            if (
                o.status.is_open
                and o.account_id == account_id
                and (symbol is None or o.symbol == symbol)
            ):
                out.append(o.copy())
        for order_id, o in staged.items():
            if (
                order_id not in store.open_ids
                and o.status.is_open
                and o.account_id == account_id
                and (symbol is None or o.symbol == symbol)
            ):
                out.append(o.copy())
        return out

    def record_events(self, events: Sequence[EventRecord]) -> None:
        self._s.events.extend(events)

    def add_receipt(
        self, order_id: str, client_order_id: str, adapter: str, raw: str, ts: datetime
    ) -> None:
        self._s.receipts.append((order_id, raw))

    def has_fill(self, order_id: str, exec_id: str) -> bool:
        return (order_id, exec_id) in self._s.fill_keys or self._store.known_fill(order_id, exec_id)

    def insert_fill(
        self,
        fill: Fill,
        account_id: str,
        strategy_id: str,
        realized_gross: Decimal,
        trading_day: str,
    ) -> None:
        if self.has_fill(fill.order_id, fill.exec_id):
            raise DuplicateKey(f"duplicate fill {fill.exec_id} of {fill.order_id}")
        self._s.fill_keys.add((fill.order_id, fill.exec_id))
        self._s.fills.append((fill, account_id, strategy_id, realized_gross, trading_day))

    def get_position(self, account_id: str, symbol: str) -> Position:
        key = (account_id, symbol)
        position = self._s.positions.get(key) or self._store.positions_by.get(key)
        if position is None:
            return Position(account_id=account_id, symbol=symbol)
        return position.copy()

    def save_position(self, position: Position, ts: datetime) -> None:
        self._s.positions[(position.account_id, position.symbol)] = position.copy()

    def save_mark(self, mark: Mark) -> None:
        current = self._s.marks.get(mark.symbol) or self._store.marks_by.get(mark.symbol)
        if not mark.newer_than(current):
            return  # an older sequence number than the one stored: see Mark.seq
        if mark.seq is None and current is not None and current.seq is not None:
            mark = replace(mark, seq=current.seq)
        self._s.marks[mark.symbol] = mark

    # ------------------------------------------------------------ fill amendments

    def booked_fill(self, order_id: str, exec_id: str) -> BookedFill | None:
        key = (order_id, exec_id)
        amended = self._s.amendments.get(key)
        if amended is not None:
            return amended
        for fill, _, _, gross, _ in self._s.fills:
            if (fill.order_id, fill.exec_id) == key:
                return BookedFill(fill, gross, False, "")
        return self._store.booked(order_id, exec_id)

    def position_fills(self, account_id: str, symbol: str) -> list[Fill]:
        booked = self._store.booked_fills(account_id, symbol)
        booked += [
            BookedFill(f, gross, False, "")
            for f, account, _, gross, _ in self._s.fills
            if account == account_id and f.symbol == symbol
        ]
        amended = self._s.amendments
        out = []
        for row in booked:
            now = amended.get((row.fill.order_id, row.fill.exec_id), row)
            if not now.busted:
                out.append(now.fill)
        return out

    def amend_fill(
        self, before: Fill, after: Fill | None, realized_gross: Decimal, amend_id: str
    ) -> None:
        old = self.booked_fill(before.order_id, before.exec_id)
        if old is None:
            raise StaleOrder(f"no fill {before.exec_id} of {before.order_id} to amend")
        kept = replace(old.fill, commission=ZERO) if after is None else after
        key = (before.order_id, before.exec_id)
        self._s.amendments[key] = BookedFill(kept, realized_gross, after is None, amend_id)
