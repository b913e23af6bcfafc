"""The twin's own tables, beside its store's: which real order each shadow order mirrors.

- ``shadow_orders``: one row per real order that went out, keyed by the real order's
  id (with its client order id and parent), naming the twin's order that simulated it.
  This is the join of ``ordergate shadow report``.
- ``shadow_marks``: every mark the twin simulated against, in order (the participation
  fit replays them; the store's own ``marks`` table keeps only the latest per symbol).
- ``shadow_meta``: counters that must survive a restart (orders dropped by a full queue).

They live in the twin's database (never the real one), created on first use with
``CREATE TABLE IF NOT EXISTS``: the twin is an ordinary store plus these three tables,
so the store's migrations stay the real store's. Backends: a SQLite file (its own
connection, WAL, as the lease table's), SQLite in memory, and PostgreSQL through the
store's pool.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.domain.errors import PersistenceError
from ordergate.domain.market import Mark
from ordergate.store.base import Store

_TABLES = (
    "CREATE TABLE IF NOT EXISTS shadow_orders ("
    " seq {serial}, real_order_id TEXT NOT NULL UNIQUE, real_client_order_id TEXT NOT NULL,"
    " shadow_order_id TEXT NOT NULL, account_id TEXT NOT NULL, symbol TEXT NOT NULL,"
    " side TEXT NOT NULL, order_type TEXT NOT NULL, real_parent_order_id TEXT,"
    " submitted_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS shadow_marks ("
    " seq {serial}, symbol TEXT NOT NULL, ts TEXT NOT NULL, last TEXT NOT NULL,"
    " bid TEXT, ask TEXT, volume TEXT)",
    "CREATE INDEX IF NOT EXISTS shadow_marks_symbol_ts ON shadow_marks (symbol, ts)",
    "CREATE TABLE IF NOT EXISTS shadow_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_LINK_COLUMNS = (
    "real_order_id, real_client_order_id, shadow_order_id, account_id, symbol, side, "
    "order_type, real_parent_order_id, submitted_at"
)
DROPPED = "dropped"


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """One real order and the twin's order that simulated it."""

    real_order_id: str
    real_client_order_id: str
    shadow_order_id: str
    account_id: str
    symbol: str
    side: str
    order_type: str
    real_parent_order_id: str | None
    submitted_at: datetime


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class ShadowLinks:
    """The three tables on one database connection; ``?`` placeholders (SQLite)."""

    placeholder = "?"
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT"
    ignore_insert = "INSERT OR IGNORE INTO"
    ignore_tail = ""

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        """``synchronous``: the twin store's (each write here is its own commit)."""
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout = 5000")
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA wal_autocheckpoint = 0")  # the store's checkpointer
            self._conn.execute(f"PRAGMA synchronous = {synchronous}")
        except sqlite3.Error as exc:
            raise PersistenceError(f"the shadow link tables cannot be opened: {exc}") from exc
        self._lock = threading.Lock()
        self.create()

    # ----------------------------------------------------------- backend

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise PersistenceError(f"the shadow link tables failed: {exc}") from exc

    def _connection(self) -> AbstractContextManager[Any]:
        return self._cursor()

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._connection() as conn:
            cursor = conn.execute(self._sql(sql), tuple(params))
            return list(cursor.fetchall()) if cursor.description else []

    def create(self) -> None:
        for statement in _TABLES:
            self._run(statement.format(serial=self.serial))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------- links

    def add(self, link: Link) -> None:
        """Record ``link``; a real order already linked keeps its first twin order."""
        self._run(
            f"{self.ignore_insert} shadow_orders ({_LINK_COLUMNS}) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?){self.ignore_tail}",
            (
                link.real_order_id,
                link.real_client_order_id,
                link.shadow_order_id,
                link.account_id,
                link.symbol,
                link.side,
                link.order_type,
                link.real_parent_order_id,
                link.submitted_at.isoformat(),
            ),
        )

    def get(self, real_order_id: str) -> Link | None:
        rows = self._run(
            f"SELECT {_LINK_COLUMNS} FROM shadow_orders WHERE real_order_id = ?", (real_order_id,)
        )
        return _link(rows[0]) if rows else None

    def links(self) -> list[Link]:
        """Every link, in the order the twin simulated them (the real submit order)."""
        rows = self._run(f"SELECT {_LINK_COLUMNS} FROM shadow_orders ORDER BY seq")
        return [_link(row) for row in rows]

    # ------------------------------------------------------------- marks

    def add_mark(self, mark: Mark) -> None:
        self._run(
            "INSERT INTO shadow_marks (symbol, ts, last, bid, ask, volume) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                mark.symbol,
                mark.ts.isoformat(),
                str(mark.last),
                _text(mark.bid),
                _text(mark.ask),
                _text(mark.volume),
            ),
        )

    def marks(self, symbol: str) -> list[Mark]:
        """``symbol``'s marks as the twin saw them, oldest first."""
        rows = self._run(
            "SELECT symbol, ts, last, bid, ask, volume FROM shadow_marks "
            "WHERE symbol = ? ORDER BY seq",
            (symbol,),
        )
        return [
            Mark(
                symbol=r[0],
                ts=datetime.fromisoformat(r[1]),
                last=Decimal(r[2]),
                bid=_decimal(r[3]),
                ask=_decimal(r[4]),
                volume=_decimal(r[5]),
            )
            for r in rows
        ]

    # ----------------------------------------------------------- counters

    def counter(self, key: str) -> int:
        rows = self._run("SELECT value FROM shadow_meta WHERE key = ?", (key,))
        return int(rows[0][0]) if rows else 0

    def add_to_counter(self, key: str, amount: int) -> None:
        total = self.counter(key) + amount
        self._run(
            "INSERT INTO shadow_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, str(total)),
        )


def _link(row: Sequence[Any]) -> Link:
    return Link(
        real_order_id=row[0],
        real_client_order_id=row[1],
        shadow_order_id=row[2],
        account_id=row[3],
        symbol=row[4],
        side=row[5],
        order_type=row[6],
        real_parent_order_id=row[7],
        submitted_at=datetime.fromisoformat(row[8]),
    )


class PostgresShadowLinks(ShadowLinks):
    """The same tables in the twin's PostgreSQL database, on the store's pool."""

    placeholder = "%s"
    serial = "BIGSERIAL PRIMARY KEY"
    ignore_insert = "INSERT INTO"
    ignore_tail = " ON CONFLICT (real_order_id) DO NOTHING"

    def __init__(self, store: Any) -> None:  # a PostgresStore (the optional extra)
        self._store = store
        self.create()

    def _connection(self) -> AbstractContextManager[Any]:
        return self._store.connection()  # type: ignore[no-any-return]

    def close(self) -> None:
        """The pool is the store's: closed with it."""


def links_for(store: Store, *, synchronous: str = "FULL") -> ShadowLinks:
    """The link tables in ``store``'s database (the twin's store), committed as
    ``synchronous`` says on SQLite."""
    from ordergate.store.memory import MemoryStore
    from ordergate.store.sqlite import SqliteStore

    if isinstance(store, MemoryStore):
        return ShadowLinks(":memory:")
    if isinstance(store, SqliteStore):
        return ShadowLinks(str(store.path), synchronous=synchronous)
    if hasattr(store, "connection"):
        return PostgresShadowLinks(store)
    raise PersistenceError(f"no shadow link tables for a {type(store).__name__}")
