"""The backtest store's file: the event log, fills, intents, receipts and orders, written
in batches to SQLite and read back with the SQL stores' own reads.

It is a scratch file, not a durable record (a backtest that dies is run again): the
journal and fsync are off, a batch is one transaction, and the tables carry only the
indexes the reads need (the intents' key, the orders' ids, the fills by order). The
tables and columns are the SQL stores' (:mod:`~ordergate.store.reads` runs on it);
``outbox`` is a view of ``order_events``, whose ``seq`` is the outbox id.

:class:`KeyFilter` remembers, in a fixed number of bits, which keys were written:
"no" is certain, "maybe" is looked up in the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Hashable, Sequence
from typing import Any

from ordergate.domain.errors import PersistenceError
from ordergate.store.rows import FILL_COLUMNS, ORDER_COLUMNS

SCHEMA = f"""
CREATE TABLE intents (
    account_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, intent_id TEXT NOT NULL,
    payload_hash TEXT NOT NULL, payload TEXT NOT NULL, received_at TEXT NOT NULL,
    order_id TEXT NOT NULL, PRIMARY KEY (account_id, idempotency_key)
) WITHOUT ROWID;
CREATE TABLE orders ({", ".join(ORDER_COLUMNS)}, PRIMARY KEY (order_id)) WITHOUT ROWID;
CREATE INDEX orders_client ON orders (client_order_id);
CREATE TABLE order_events (
    seq INTEGER PRIMARY KEY, order_id TEXT, topic TEXT NOT NULL, from_status TEXT,
    to_status TEXT, payload TEXT NOT NULL, ts TEXT NOT NULL
);
CREATE VIEW outbox AS
    SELECT seq AS id, topic, order_id AS key, payload, ts AS created_at FROM order_events;
CREATE TABLE fills (
    fill_id INTEGER PRIMARY KEY, {", ".join(FILL_COLUMNS)}, account_id TEXT NOT NULL,
    strategy_id TEXT NOT NULL, realized_gross TEXT NOT NULL, trading_day TEXT NOT NULL,
    busted INTEGER NOT NULL DEFAULT 0, amend_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX fills_order ON fills (order_id);
CREATE TABLE broker_receipts (id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, raw TEXT NOT NULL);
"""
INTENT_INSERT = "INSERT INTO intents VALUES (?, ?, ?, ?, ?, ?, ?)"
ORDER_UPSERT = (
    f"INSERT OR REPLACE INTO orders ({', '.join(ORDER_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ORDER_COLUMNS))})"
)
EVENT_INSERT = (
    "INSERT INTO order_events (seq, order_id, topic, from_status, to_status, payload, ts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
FILL_INSERT = (
    "INSERT INTO fills (order_id, exec_id, account_id, strategy_id, symbol, side, last_qty, "
    "last_px, commission, realized_gross, liquidity, late, trading_day, ts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
FILL_AMEND = (
    "UPDATE fills SET last_qty = ?, last_px = ?, commission = ?, liquidity = ?, late = ?, "
    "ts = ?, realized_gross = ?, busted = ?, amend_id = ? WHERE order_id = ? AND exec_id = ?"
)
RECEIPT_INSERT = "INSERT INTO broker_receipts (order_id, raw) VALUES (?, ?)"


class KeyFilter:
    """A two-hash bit filter over ``2**bits`` bits (``2**bits / 8`` bytes, fixed)."""

    __slots__ = ("_bits", "_mask", "_shift")

    def __init__(self, bits: int = 27) -> None:
        self._bits = bytearray(1 << (bits - 3))
        self._mask = (1 << bits) - 1
        self._shift = bits

    def add(self, key: Hashable) -> None:
        h = hash(key)
        a, b = h & self._mask, (h >> self._shift) & self._mask
        bits = self._bits
        bits[a >> 3] |= 1 << (a & 7)
        bits[b >> 3] |= 1 << (b & 7)

    def __contains__(self, key: Hashable) -> bool:
        h = hash(key)
        a, b = h & self._mask, (h >> self._shift) & self._mask
        bits = self._bits
        return bool(bits[a >> 3] & (1 << (a & 7))) and bool(bits[b >> 3] & (1 << (b & 7)))


class SpillFile:
    """One SQLite connection to the run's file; every write is a batch."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode = OFF")
            self._conn.execute("PRAGMA synchronous = OFF")
        except sqlite3.Error as exc:
            raise PersistenceError(f"cannot open the backtest file {path}: {exc}") from exc

    def create(self) -> None:
        exists = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'order_events'"
        ).fetchone()
        if not exists:
            self._conn.executescript(SCHEMA)

    def write(self, batches: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> None:
        """Each (statement, rows) with ``executemany``, all in one transaction."""
        conn = self._conn
        try:
            conn.execute("BEGIN")
            for sql, rows in batches:
                if rows:
                    conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):  # a closed file has nothing to undo
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            raise PersistenceError(f"cannot write the backtest file: {exc}") from exc

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise PersistenceError(f"cannot read the backtest file: {exc}") from exc

    def close(self) -> None:
        self._conn.close()
