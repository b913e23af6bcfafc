"""The in-memory store: a real adapter of the store port, for backtests and tests.

It keeps everything in dictionaries and passes the same contract suite as SQLite and
PostgreSQL: unique keys raise :class:`DuplicateKey`, a stale order version raises
:class:`StaleOrder`, a failed unit of work leaves nothing behind (an undo log rolls it
back), and a closed store answers :class:`PersistenceError`. Nothing survives the
process, so it keeps no audit hash chain.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from ordergate.domain.errors import PersistenceError
from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.order import Order
from ordergate.domain.positions import Position
from ordergate.store.base import (
    BookedFill,
    DailyPnl,
    DuplicateKey,
    EventRecord,
    OrderQuery,
    OutboxMessage,
    StaleOrder,
    StoredControl,
    StoredEvent,
    StoredFill,
    StoredIntent,
    StoredKillSwitch,
)
from ordergate.store.reads import fold_daily_pnl
from ordergate.store.staging import amended, mark_to_save, position_or_flat

Undo = Callable[[], object]  # what it returns is not used
#: what a table held under a key that was not there
_ABSENT: Any = object()


def _undo_put(table: dict[Any, Any], key: Any, old: Any) -> Undo:
    """Put ``old`` back under ``key`` (or drop the key, when it was :data:`_ABSENT`)."""
    if old is _ABSENT:
        return partial(table.pop, key)
    return partial(table.__setitem__, key, old)


class _Data:
    def __init__(self) -> None:
        self.intents: dict[tuple[str, str], StoredIntent] = {}
        self.intent_of_order: dict[str, StoredIntent] = {}
        self.orders: dict[str, Order] = {}
        self.by_client: dict[str, str] = {}
        #: ids of orders not in a final status (the partial index of the SQL stores)
        self.open_ids: set[str] = set()
        self.events: list[EventRecord] = []
        self.fills: list[StoredFill] = []
        self.fill_rows: dict[str, list[Fill]] = {}
        self.fill_keys: set[tuple[str, str]] = set()
        #: every booked fill by (order, exec id), busted or not, with its amendment state
        self.booked: dict[tuple[str, str], BookedFill] = {}
        self.positions: dict[tuple[str, str], Position] = {}
        self.marks: dict[str, Mark] = {}
        self.kill_switches: dict[tuple[str, str], StoredKillSwitch] = {}
        self.controls: dict[str, StoredControl] = {}
        self.cursors: dict[str, int] = {}
        self.receipts: list[tuple[str, str]] = []


class MemoryUnitOfWork:
    def __init__(self, data: _Data, undo: list[Undo]) -> None:
        self._d = data
        self._undo = undo

    def _set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        missing = key not in table
        old = table.get(key)
        table[key] = value
        self._undo.append(lambda: table.pop(key) if missing else table.__setitem__(key, old))

    def find_intent(self, account_id: str, idempotency_key: str) -> StoredIntent | None:
        return self._d.intents.get((account_id, idempotency_key))

    def insert_intent(self, intent: StoredIntent) -> None:
        # the hot writes record their undo in line (a bound pop or put back, no closure)
        intents, of_order, undo = self._d.intents, self._d.intent_of_order, self._undo
        key = (intent.account_id, intent.idempotency_key)
        if key in intents:
            raise DuplicateKey(f"duplicate idempotency key {intent.idempotency_key!r}")
        intents[key] = intent
        undo.append(partial(intents.pop, key))
        order_id = intent.order_id
        old = of_order.get(order_id, _ABSENT)
        of_order[order_id] = intent
        undo.append(_undo_put(of_order, order_id, old))

    def insert_order(self, order: Order, intent_id: str) -> None:
        orders, by_client, undo = self._d.orders, self._d.by_client, self._undo
        order_id, client_id = order.order_id, order.client_order_id
        if order_id in orders or client_id in by_client:
            raise DuplicateKey(f"duplicate order {order_id}")
        orders[order_id] = order.copy()
        undo.append(partial(orders.pop, order_id))
        by_client[client_id] = order_id
        undo.append(partial(by_client.pop, client_id))
        self._track_open(order)

    def update_order(self, order: Order, expected_version: int) -> None:
        stored = self._d.orders.get(order.order_id)
        if stored is None or stored.version != expected_version:
            raise StaleOrder(
                f"order {order.order_id} changed underneath this update "
                f"(expected version {expected_version})"
            )
        orders = self._d.orders
        orders[order.order_id] = order.copy()
        self._undo.append(partial(orders.__setitem__, order.order_id, stored))
        self._track_open(order)

    def _track_open(self, order: Order) -> None:
        open_ids, order_id = self._d.open_ids, order.order_id
        was_open = order_id in open_ids
        if order.is_open == was_open:
            return
        if was_open:
            open_ids.discard(order_id)
            self._undo.append(partial(open_ids.add, order_id))
        else:
            open_ids.add(order_id)
            self._undo.append(partial(open_ids.discard, order_id))

    def get_order(self, order_id: str) -> Order | None:
        order = self._d.orders.get(order_id)
        return None if order is None else order.copy()

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        order_id = self._d.by_client.get(client_order_id)
        return None if order_id is None else self.get_order(order_id)

    def open_orders_for(self, account_id: str, symbol: str | None = None) -> list[Order]:
        orders = self._d.orders
        return [
            o.copy()
            for o in (orders[order_id] for order_id in self._d.open_ids)
            if o.account_id == account_id and (symbol is None or o.symbol == symbol)
        ]

    def record_events(self, events: Sequence[EventRecord]) -> None:
        log = self._d.events
        size = len(log)
        log.extend(events)
        self._undo.append(lambda: log.__delitem__(slice(size, None)))

    def add_receipt(
        self, order_id: str, client_order_id: str, adapter: str, raw: str, ts: datetime
    ) -> None:
        receipts = self._d.receipts
        receipts.append((order_id, raw))
        self._undo.append(lambda: receipts.__delitem__(-1))

    def has_fill(self, order_id: str, exec_id: str) -> bool:
        return (order_id, exec_id) in self._d.fill_keys

    def insert_fill(
        self,
        fill: Fill,
        account_id: str,
        strategy_id: str,
        realized_gross: Decimal,
        trading_day: str,
    ) -> None:
        key = (fill.order_id, fill.exec_id)
        if key in self._d.fill_keys:
            raise DuplicateKey(f"duplicate fill {fill.exec_id} of {fill.order_id}")
        d = self._d
        d.fill_keys.add(key)
        d.booked[key] = BookedFill(fill, realized_gross, False, "")
        d.fill_rows.setdefault(fill.order_id, []).append(fill)
        d.fills.append(
            StoredFill(
                account_id,
                strategy_id,
                fill.symbol,
                fill.order_id,
                fill.exec_id,
                realized_gross,
                fill.commission,
                trading_day,
                fill.ts,
                None if (order := d.orders.get(fill.order_id)) is None else order.parent_order_id,
            )
        )

        def undo() -> None:
            d.fill_keys.discard(key)
            d.booked.pop(key, None)
            d.fill_rows[fill.order_id].pop()
            d.fills.pop()

        self._undo.append(undo)

    def booked_fill(self, order_id: str, exec_id: str) -> BookedFill | None:
        return self._d.booked.get((order_id, exec_id))

    def position_fills(self, account_id: str, symbol: str) -> list[Fill]:
        d = self._d
        out = []
        for row in d.fills:
            if row.account_id == account_id and row.symbol == symbol:
                booked = d.booked[(row.order_id, row.exec_id)]
                if not booked.busted:
                    out.append(booked.fill)
        return out

    def amend_fill(
        self, before: Fill, after: Fill | None, realized_gross: Decimal, amend_id: str
    ) -> None:
        d = self._d
        key = (before.order_id, before.exec_id)
        self._set(d.booked, key, amended(d.booked[key], after, realized_gross, amend_id))
        rows = d.fill_rows[before.order_id]
        old_rows = list(rows)
        at = next(i for i, f in enumerate(rows) if f.exec_id == before.exec_id)
        if after is None:
            del rows[at]
        else:
            rows[at] = after
        index = next(i for i, f in enumerate(d.fills) if (f.order_id, f.exec_id) == key)
        old_row = d.fills[index]
        commission = ZERO if after is None else after.commission
        d.fills[index] = replace(old_row, realized_gross=realized_gross, commission=commission)

        def undo() -> None:
            rows[:] = old_rows
            d.fills[index] = old_row

        self._undo.append(undo)

    def get_position(self, account_id: str, symbol: str) -> Position:
        return position_or_flat(self._d.positions.get((account_id, symbol)), account_id, symbol)

    def save_position(self, position: Position, ts: datetime) -> None:
        positions, key = self._d.positions, (position.account_id, position.symbol)
        old = positions.get(key, _ABSENT)
        positions[key] = position.copy()
        self._undo.append(_undo_put(positions, key, old))

    def save_mark(self, mark: Mark) -> None:
        kept = mark_to_save(mark, self._d.marks.get(mark.symbol))
        if kept is not None:
            self._set(self._d.marks, mark.symbol, kept)


class MemoryStore:
    """The store port in memory; see the module docstring."""

    url = "memory://"

    def __init__(self) -> None:
        self._data = _Data()
        self._lock = threading.RLock()
        self._closed = False

    def migrate(self) -> None:
        """Nothing to migrate: the schema is the Python objects."""

    def close(self) -> None:
        self._closed = True

    def _open(self) -> _Data:
        if self._closed:
            raise PersistenceError("the in-memory store is closed")
        return self._data

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    # ------------------------------------------------------------------ reads

    def get_order(self, order_id: str) -> Order | None:
        with self._lock:
            order = self._open().orders.get(order_id)
            return None if order is None else order.copy()

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        with self._lock:
            order_id = self._open().by_client.get(client_order_id)
        return None if order_id is None else self.get_order(order_id)

    def list_orders(self, query: OrderQuery) -> list[Order]:
        with self._lock:
            rows = [
                o
                for o in self._open().orders.values()
                if (not query.status or o.status.value in query.status)
                and (query.symbol is None or o.symbol == query.symbol)
                and (query.strategy_id is None or o.strategy_id == query.strategy_id)
                and (query.account_id is None or o.account_id == query.account_id)
            ]
        rows.sort(key=lambda o: o.order_id, reverse=True)
        return [o.copy() for o in rows[query.offset : query.offset + query.limit]]

    def open_orders(self) -> list[Order]:
        with self._lock:
            data = self._open()
            rows = [data.orders[order_id].copy() for order_id in data.open_ids]
        return sorted(rows, key=lambda o: (o.created_at, o.order_id))

    def fills_for(self, order_id: str) -> list[Fill]:
        with self._lock:
            return list(self._open().fill_rows.get(order_id, ()))

    def events_for(self, order_id: str) -> list[StoredEvent]:
        with self._lock:
            events = list(enumerate(self._open().events, start=1))
        return [
            StoredEvent(
                seq,
                e.order_id or "",
                e.topic,
                e.from_status,
                e.to_status,
                json.loads(e.payload),
                e.ts,
            )
            for seq, e in events
            if e.order_id == order_id
        ]

    def positions(self, account_id: str | None = None) -> list[Position]:
        with self._lock:
            rows = [
                p.copy()
                for (acct, _), p in self._open().positions.items()
                if account_id is None or acct == account_id
            ]
        return sorted(rows, key=lambda p: (p.account_id, p.symbol))

    def marks(self) -> dict[str, Mark]:
        with self._lock:
            return dict(self._open().marks)

    def daily_pnl(self, account_id: str | None = None) -> list[DailyPnl]:
        with self._lock:
            fills = list(self._open().fills)
        return fold_daily_pnl(
            (f.trading_day, f.strategy_id, f.realized_gross, f.commission)
            for f in fills
            if account_id is None or f.account_id == account_id
        )

    def intent_payload(self, order_id: str) -> str | None:
        with self._lock:
            intent = self._open().intent_of_order.get(order_id)
        return None if intent is None else intent.payload

    def receipts_for(self, order_id: str) -> list[str]:
        with self._lock:
            return [raw for oid, raw in self._open().receipts if oid == order_id]

    def fills_since(self, trading_day: str) -> list[StoredFill]:
        with self._lock:
            return [f for f in self._open().fills if f.trading_day >= trading_day]

    def kill_switches(self) -> list[StoredKillSwitch]:
        with self._lock:
            return sorted(self._open().kill_switches.values(), key=lambda s: (s.kind, s.target))

    def save_kill_switch(self, switch: StoredKillSwitch) -> None:
        with self._lock:
            self._open().kill_switches[(switch.kind, switch.target)] = switch

    def trading_controls(self) -> list[StoredControl]:
        with self._lock:
            return sorted(self._open().controls.values(), key=lambda c: c.name)

    def save_trading_control(self, control: StoredControl) -> None:
        with self._lock:
            self._open().controls[control.name] = control

    def outbox_after(self, last_id: int, limit: int) -> list[OutboxMessage]:
        with self._lock:
            events = self._open().events[last_id : last_id + limit]
        return [
            OutboxMessage(last_id + i + 1, e.topic, e.order_id, e.payload, e.ts)
            for i, e in enumerate(events)
        ]

    def outbox_cursor(self, consumer: str) -> int:
        with self._lock:
            return self._open().cursors.get(consumer, 0)

    def set_outbox_cursor(self, consumer: str, last_id: int) -> None:
        with self._lock:
            cursors = self._open().cursors
            cursors[consumer] = max(cursors.get(consumer, 0), last_id)


class _Transaction:
    """One unit of work under the store's lock; an error undoes what it wrote.

    A class, not a generator under ``@contextmanager``: each order opens a few of
    these, and a generator context manager costs several calls more each."""

    __slots__ = ("_store", "_undo")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._undo: list[Undo] = []

    def __enter__(self) -> MemoryUnitOfWork:
        store = self._store
        store._lock.acquire()
        try:
            return MemoryUnitOfWork(store._open(), self._undo)
        except BaseException:
            store._lock.release()
            raise

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is not None:
                for step in reversed(self._undo):
                    step()
        finally:
            self._store._lock.release()
