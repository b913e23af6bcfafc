"""The backtest store: the store port with memory bounded by the working orders.

A backtest has one writer, no concurrent reader and nothing to recover after a crash,
so its mechanics may differ from the live stores' (DESIGN, "the mechanics … may have a
backtest backend behind the same ports"); what it answers may not. It passes the same
contract suite as SQLite, PostgreSQL and the in-memory store.

- A unit of work stages its writes and applies them on a clean exit; a failed one has
  applied nothing. No lock: one thread drives a backtest.
- The event log goes to Parquet parts beside the file (:mod:`~ordergate.store.eventlog`;
  in the file itself when pyarrow is not installed).
- Memory holds the open orders, the orders changed since the last batch, the positions,
  marks and controls, and the rows not yet written; every ``batch`` events the rows —
  the event log, fills, intents, receipts and the orders' last states — go to an SQLite
  file (:mod:`~ordergate.store.spill`) and leave memory (open orders stay).
- Reads outside a unit of work write the pending batch first, then read the file with
  the SQL stores' own reads (:class:`~ordergate.store.reads.SqlReads`).
- An idempotency key or a fill written out is remembered by a fixed-size bit filter; a
  "maybe" is looked up in the file, so a duplicate is refused as anywhere else.

The file is a temporary one unless ``path`` is given; it is removed when the store is
closed or collected (a given path is kept), so a result can still read it after a run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.domain.errors import PersistenceError
from ordergate.domain.market import Mark
from ordergate.domain.money import fmt
from ordergate.domain.order import Order
from ordergate.domain.positions import Position
from ordergate.store.backtest_uow import BacktestUnitOfWork, Staged
from ordergate.store.base import (
    BookedFill,
    DailyPnl,
    EventRecord,
    OutboxMessage,
    StoredControl,
    StoredEvent,
    StoredIntent,
    StoredKillSwitch,
)
from ordergate.store.eventlog import ParquetEvents, parquet_available
from ordergate.store.reads import ORDER_SELECT, SqlReads, fold_daily_pnl
from ordergate.store.rows import (
    FILL_COLUMNS,
    fill_from_row,
    fill_values,
    order_from_row,
    order_values,
    ts_parse,
    ts_text,
)
from ordergate.store.spill import (
    EVENT_INSERT,
    FILL_AMEND,
    FILL_INSERT,
    INTENT_INSERT,
    ORDER_UPSERT,
    RECEIPT_INSERT,
    KeyFilter,
    SpillFile,
)


class _Transaction:
    """One unit of work's scope: staged writes are applied on a clean exit only (a plain
    class: a generator-based context manager costs more, four times an order)."""

    __slots__ = ("_staged", "_store")

    def __init__(self, store: BacktestStore) -> None:
        self._store = store
        self._staged = Staged()

    def __enter__(self) -> BacktestUnitOfWork:
        return BacktestUnitOfWork(self._store, self._staged)

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self._store._apply(self._staged)


class BacktestStore(SqlReads):
    """The store port for backtests; see the module docstring."""

    def __init__(
        self,
        path: str | None = None,
        *,
        batch: int = 8192,
        filter_bits: int = 27,
        parquet: bool | None = None,
    ) -> None:
        self._own_dir = None if path is not None else tempfile.mkdtemp(prefix="ordergate-bt-")
        self.file_path = path if path is not None else os.path.join(self._own_dir or "", "run.db")
        self.url = f"backtest://{self.file_path}"
        self._file = SpillFile(self.file_path)
        if parquet is None:
            parquet = parquet_available()
        #: the event log as Parquet parts beside the file, or (no pyarrow) in the file
        self._parquet = ParquetEvents(self.file_path + ".events") if parquet else None
        self._batch = batch
        self._closed = False
        #: orders in memory: every open one and every one changed since the last batch
        self.orders: dict[str, Order] = {}
        self.by_client: dict[str, str] = {}
        self.open_ids: dict[str, None] = {}  # insertion-ordered set
        self.changed: dict[str, None] = {}
        self.intents: dict[tuple[str, str], StoredIntent] = {}
        #: (order_id, exec_id) of the fills not yet written
        self.fill_keys: set[tuple[str, str]] = set()
        self.positions_by: dict[tuple[str, str], Position] = {}
        self.marks_by: dict[str, Mark] = {}
        self.kill_switches_by: dict[tuple[str, str], StoredKillSwitch] = {}
        self.controls: dict[str, StoredControl] = {}
        self.cursors: dict[str, int] = {}
        self._written = KeyFilter(filter_bits)
        #: the events not yet written; the last of them has seq ``_seq`` (seqs are dense)
        self._events: list[EventRecord] = []
        self._fills: list[tuple[Any, ...]] = []
        self._receipts: list[tuple[str, str]] = []
        self._seq = 0
        if self._own_dir is not None:  # a temporary file goes with the store
            weakref.finalize(self, shutil.rmtree, self._own_dir, True)

    # ------------------------------------------------------------ lifecycle

    def migrate(self) -> None:
        self._open()
        self._file.create()
        if self._parquet is not None:
            os.makedirs(self.file_path + ".events", exist_ok=True)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._file.close()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
        elif self._parquet is not None and not os.listdir(self.file_path + ".events"):
            os.rmdir(self.file_path + ".events")

    def _open(self) -> None:
        if self._closed:
            raise PersistenceError("the backtest store is closed")

    def transaction(self) -> _Transaction:
        self._open()
        return _Transaction(self)

    # ------------------------------------------------------------ what a unit of work asks

    def find_intent(self, account_id: str, idempotency_key: str) -> StoredIntent | None:
        key = (account_id, idempotency_key)
        intent = self.intents.get(key)
        if intent is not None or key not in self._written:
            return intent
        rows = self._file.query(
            "SELECT intent_id, account_id, idempotency_key, payload_hash, payload, "
            "received_at, order_id FROM intents WHERE account_id = ? AND idempotency_key = ?",
            key,
        )
        if not rows:
            return None
        r = rows[0]
        return StoredIntent(r[0], r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5]), r[6])

    def order(self, order_id: str) -> Order | None:
        """The stored order itself (not a copy): callers copy."""
        order = self.orders.get(order_id)
        if order is not None or ("o", order_id) not in self._written:
            return order
        rows = self._file.query(f"{ORDER_SELECT} WHERE order_id = ?", (order_id,))
        return order_from_row(rows[0]) if rows else None

    def order_id_of_client(self, client_order_id: str) -> str | None:
        order_id = self.by_client.get(client_order_id)
        if order_id is not None or ("c", client_order_id) not in self._written:
            return order_id
        rows = self._file.query(
            "SELECT order_id FROM orders WHERE client_order_id = ?", (client_order_id,)
        )
        return str(rows[0][0]) if rows else None

    def known_fill(self, order_id: str, exec_id: str) -> bool:
        key = (order_id, exec_id)
        if key in self.fill_keys:
            return True
        if key not in self._written:
            return False
        rows = self._file.query(
            "SELECT 1 FROM fills WHERE order_id = ? AND exec_id = ?", (order_id, exec_id)
        )
        return bool(rows)

    def booked(self, order_id: str, exec_id: str) -> BookedFill | None:
        for fill, _, _, gross, _ in self._fills:
            if (fill.order_id, fill.exec_id) == (order_id, exec_id):
                return BookedFill(fill, gross, False, "")
        if (order_id, exec_id) not in self._written:
            return None
        rows = self._file.query(
            f"SELECT {', '.join(FILL_COLUMNS)}, realized_gross, busted, amend_id FROM fills "
            "WHERE order_id = ? AND exec_id = ?",
            (order_id, exec_id),
        )
        if not rows:
            return None
        r = rows[0]
        return BookedFill(fill_from_row(r[:-3]), Decimal(r[-3]), bool(r[-2]), r[-1])

    def booked_fills(self, account_id: str, symbol: str) -> list[BookedFill]:
        """The account's fills in ``symbol`` as booked (amended ones included), in order."""
        rows = self._file.query(
            f"SELECT {', '.join(FILL_COLUMNS)}, realized_gross, busted, amend_id FROM fills "
            "WHERE account_id = ? AND symbol = ? ORDER BY fill_id",
            (account_id, symbol),
        )
        out = [BookedFill(fill_from_row(r[:-3]), Decimal(r[-3]), bool(r[-2]), r[-1]) for r in rows]
        out += [
            BookedFill(f, gross, False, "")
            for f, account, _, gross, _ in self._fills
            if account == account_id and f.symbol == symbol
        ]
        return out

    def _amend(self, amendments: dict[tuple[str, str], BookedFill]) -> None:
        self.flush()  # the fills amended are in the file, then changed there
        rows = [
            (
                fmt(b.fill.last_qty),
                fmt(b.fill.last_px),
                fmt(b.fill.commission),
                b.fill.liquidity,
                int(b.fill.late),
                ts_text(b.fill.ts),
                fmt(b.realized_gross),
                int(b.busted),
                b.amend_id,
                order_id,
                exec_id,
            )
            for (order_id, exec_id), b in amendments.items()
        ]
        self._file.write([(FILL_AMEND, rows)])

    # ------------------------------------------------------------ commit and batches

    def _apply(self, s: Staged) -> None:
        """Apply one unit of work. A full batch is written first: when the file cannot
        take it, this unit of work fails with nothing of it applied (fail closed), and
        the batch waits in memory for the next try."""
        orders, changed, open_ids = self.orders, self.changed, self.open_ids
        if len(self._events) >= self._batch or len(changed) >= self._batch:
            self.flush()
        for intent in s.intents:
            self.intents[(intent.account_id, intent.idempotency_key)] = intent
        for order_id, order in s.orders.items():
            orders[order_id] = order
            self.by_client[order.client_order_id] = order_id
            changed[order_id] = None
            if order.status.is_open:
                open_ids[order_id] = None
            else:
                open_ids.pop(order_id, None)
        if s.events:
            self._events += s.events
            self._seq += len(s.events)
        for row in s.fills:
            self.fill_keys.add((row[0].order_id, row[0].exec_id))
            self._fills.append(row)
        self._receipts.extend(s.receipts)
        if s.amendments:
            self._amend(s.amendments)
        if s.positions:
            self.positions_by.update(s.positions)
        if s.marks:
            self.marks_by.update(s.marks)

    def flush(self) -> None:
        """Write every pending row to the file; forget the orders that are done."""
        if not (self._events or self.changed or self.intents or self._fills or self._receipts):
            return
        written = self._written
        events: list[tuple[Any, ...]] = []
        if self._parquet is None:
            events = [
                (seq, e.order_id, e.topic, e.from_status, e.to_status, e.payload, ts_text(e.ts))
                for seq, e in enumerate(self._events, self._first_pending_seq())
            ]
        else:
            self._parquet.append(self._event_columns())
        fills = [
            fill_values(f, account, strategy, gross, day, ts_text(f.ts))
            for f, account, strategy, gross, day in self._fills
        ]
        intents = [
            (
                i.account_id,
                i.idempotency_key,
                i.intent_id,
                i.payload_hash,
                i.payload,
                ts_text(i.received_at),
                i.order_id,
            )
            for i in self.intents.values()
        ]
        orders = [order_values(self.orders[order_id]) for order_id in self.changed]
        self._file.write(
            [
                (INTENT_INSERT, intents),
                (ORDER_UPSERT, orders),
                (EVENT_INSERT, events),
                (FILL_INSERT, fills),
                (RECEIPT_INSERT, self._receipts),
            ]
        )
        for key in self.intents:
            written.add(key)
        for key in self.fill_keys:
            written.add(key)
        open_ids, by_client = self.open_ids, self.by_client
        for order_id in self.changed:
            if order_id not in open_ids:
                client_order_id = self.orders.pop(order_id).client_order_id
                del by_client[client_order_id]
                written.add(("o", order_id))
                written.add(("c", client_order_id))
        self.intents.clear()
        self.fill_keys.clear()
        self.changed.clear()
        self._events.clear()
        self._fills.clear()
        self._receipts.clear()

    def _first_pending_seq(self) -> int:
        return self._seq - len(self._events) + 1

    def _event_columns(self) -> list[Any]:
        pending = self._events
        first = self._first_pending_seq()
        return [
            range(first, first + len(pending)),
            [e.order_id for e in pending],
            [e.topic for e in pending],
            [e.from_status for e in pending],
            [e.to_status for e in pending],
            [e.payload for e in pending],
            _stamps([e.ts for e in pending]),
        ]

    # ------------------------------------------------------------ reads outside a unit of work

    def outbox_after(self, last_id: int, limit: int) -> list[OutboxMessage]:
        if self._parquet is None:
            return super().outbox_after(last_id, limit)
        self._open()
        self.flush()
        return [
            OutboxMessage(r["seq"], r["topic"], r["order_id"], r["payload"], ts_parse(r["ts"]))
            for r in self._parquet.after(last_id, limit)
        ]

    def events_for(self, order_id: str) -> list[StoredEvent]:
        if self._parquet is None:
            return super().events_for(order_id)
        self._open()
        self.flush()
        return [
            StoredEvent(
                r["seq"],
                r["order_id"],
                r["topic"],
                r["from_status"],
                r["to_status"],
                json.loads(r["payload"]),
                ts_parse(r["ts"]),
            )
            for r in self._parquet.of_order(order_id)
        ]

    def _query(self, sql: str, params: Any = ()) -> list[Any]:
        self._open()
        self.flush()
        return self._file.query(sql, params)

    def get_order(self, order_id: str) -> Order | None:
        self._open()
        order = self.order(order_id)
        return None if order is None else order.copy()

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        self._open()
        order_id = self.order_id_of_client(client_order_id)
        return None if order_id is None else self.get_order(order_id)

    def orders_by_id(self, page: int = 10_000) -> Iterator[Order]:
        """Every order in order id order, read from the file a page at a time."""
        self._open()
        self.flush()
        after = ""
        while True:
            rows = self._file.query(
                f"{ORDER_SELECT} WHERE order_id > ? ORDER BY order_id LIMIT ?", (after, page)
            )
            if not rows:
                return
            for row in rows:
                yield order_from_row(row)
            after = rows[-1][0]

    def open_orders(self) -> list[Order]:
        self._open()
        rows = [self.orders[order_id].copy() for order_id in self.open_ids]
        return sorted(rows, key=lambda o: (o.created_at, o.order_id))

    def positions(self, account_id: str | None = None) -> list[Position]:
        self._open()
        rows = [
            p.copy()
            for (acct, _), p in self.positions_by.items()
            if account_id is None or acct == account_id
        ]
        return sorted(rows, key=lambda p: (p.account_id, p.symbol))

    def marks(self) -> dict[str, Mark]:
        self._open()
        return dict(self.marks_by)

    def daily_pnl(self, account_id: str | None = None) -> list[DailyPnl]:
        sql = "SELECT trading_day, strategy_id, realized_gross, commission FROM fills"
        rows = (
            self._query(sql)
            if account_id is None
            else self._query(f"{sql} WHERE account_id = ?", (account_id,))
        )
        return fold_daily_pnl(rows)

    def kill_switches(self) -> list[StoredKillSwitch]:
        self._open()
        return sorted(self.kill_switches_by.values(), key=lambda s: (s.kind, s.target))

    def save_kill_switch(self, switch: StoredKillSwitch) -> None:
        self._open()
        self.kill_switches_by[(switch.kind, switch.target)] = switch

    def trading_controls(self) -> list[StoredControl]:
        self._open()
        return sorted(self.controls.values(), key=lambda c: c.name)

    def save_trading_control(self, control: StoredControl) -> None:
        self._open()
        self.controls[control.name] = control

    def outbox_cursor(self, consumer: str) -> int:
        self._open()
        return self.cursors.get(consumer, 0)

    def set_outbox_cursor(self, consumer: str, last_id: int) -> None:
        self._open()
        self.cursors[consumer] = max(self.cursors.get(consumer, 0), last_id)


def _stamps(times: list[datetime]) -> list[str | None]:
    """The text of each time; the events of one step share one time, encoded once."""
    out: list[str | None] = []
    last: datetime | None = None
    text: str | None = None
    for ts in times:
        if ts is not last:
            last, text = ts, ts_text(ts)
        out.append(text)
    return out
