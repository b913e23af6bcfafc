"""Where parent orders (execution algorithms) are kept: a tiny port and its backends.

The ``algo_parents`` table (migration ``0013_algo_parents``) lives in the engine's
database. As with the reconciliation log, the SQLite backend uses a connection of its
own and PostgreSQL the store's pool; a store with no file or server (``MemoryStore``,
SQLite ``:memory:``) gets one in-memory book per store. Every backend passes the same
contract (``tests/store/test_parent_book.py``).

A parent's children are not here: they are orders in the store, found by their keys
(``<parent key>/slice-N``). The parent row holds what is not in them: its status, its
current terms (a modify changes quantity and limit), the volume seen since its start.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from ordergate.algos.parent import ParentOrder, ParentStatus
from ordergate.domain.errors import PersistenceError
from ordergate.domain.intent import OrderIntent
from ordergate.store.base import DuplicateKey, StaleOrder

_COLUMNS = (
    "parent_id, account_id, idempotency_key, payload_hash, intent, status, state, "
    "created_at, updated_at, version"
)
_TERMINAL = tuple(s.value for s in ParentStatus if s.is_terminal)


class ParentBook(Protocol):
    def insert(self, parent: ParentOrder) -> None:
        """Record a new parent; :class:`DuplicateKey` when its (account, key) is taken."""
        ...

    def update(self, parent: ParentOrder) -> None:
        """Write ``parent`` (its version one above the stored one), else :class:`StaleOrder`."""
        ...

    def get(self, parent_id: str) -> ParentOrder | None: ...
    def find(self, account_id: str, idempotency_key: str) -> ParentOrder | None: ...
    def working(self) -> list[ParentOrder]:
        """Every parent not in a terminal status, oldest first."""
        ...

    def latest(self, limit: int = 50) -> list[ParentOrder]:
        """The most recent parents, newest first."""
        ...


def _row(p: ParentOrder) -> tuple[Any, ...]:
    return (
        p.parent_id,
        p.account_id,
        p.idempotency_key,
        p.payload_hash,
        p.intent.canonical_json(),
        p.status.value,
        json.dumps(p.state()),
        p.created_at.isoformat(),
        p.updated_at.isoformat(),
        p.version,
    )


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _parent(row: tuple[Any, ...]) -> ParentOrder:
    state = json.loads(row[6])

    def at(value: Any) -> datetime:
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)

    return ParentOrder(
        parent_id=row[0],
        intent=OrderIntent.parse(json.loads(row[4])),
        payload_hash=row[3],
        status=ParentStatus(row[5]),
        qty=Decimal(state["qty"]),
        limit_price=_dec(state.get("limit_price")),
        arrival_price=_dec(state.get("arrival_price")),
        market_volume=Decimal(state.get("market_volume") or "0"),
        market_notional=Decimal(state.get("market_notional") or "0"),
        slices=int(state.get("slices", 0)),
        error_code=state.get("error_code", ""),
        error_message=state.get("error_message", ""),
        created_at=at(row[7]),
        updated_at=at(row[8]),
        version=int(row[9]),
    )


class MemoryParentBook:
    """For stores with no file or server, and tests."""

    def __init__(self) -> None:
        self._rows: dict[str, ParentOrder] = {}
        self._lock = threading.Lock()

    def insert(self, parent: ParentOrder) -> None:
        with self._lock:
            if self._find(parent.account_id, parent.idempotency_key) is not None:
                raise DuplicateKey(f"parent key {parent.idempotency_key!r} is taken")
            if parent.parent_id in self._rows:
                raise DuplicateKey(f"parent {parent.parent_id} exists")
            self._rows[parent.parent_id] = parent

    def update(self, parent: ParentOrder) -> None:
        with self._lock:
            stored = self._rows.get(parent.parent_id)
            if stored is None or stored.version != parent.version - 1:
                raise StaleOrder(f"parent {parent.parent_id} changed meanwhile")
            self._rows[parent.parent_id] = parent

    def get(self, parent_id: str) -> ParentOrder | None:
        with self._lock:
            return self._rows.get(parent_id)

    def _find(self, account_id: str, key: str) -> ParentOrder | None:
        return next(
            (
                p
                for p in self._rows.values()
                if (p.account_id, p.idempotency_key) == (account_id, key)
            ),
            None,
        )

    def find(self, account_id: str, idempotency_key: str) -> ParentOrder | None:
        with self._lock:
            return self._find(account_id, idempotency_key)

    def working(self) -> list[ParentOrder]:
        with self._lock:
            rows = [p for p in self._rows.values() if not p.status.is_terminal]
        return sorted(rows, key=lambda p: (p.created_at, p.parent_id))

    def latest(self, limit: int = 50) -> list[ParentOrder]:
        with self._lock:
            rows = sorted(self._rows.values(), key=lambda p: (p.created_at, p.parent_id))
        return list(reversed(rows))[:limit]


class _SqlParentBook(ABC):
    """The SQL of both backends; a subclass runs it (``?`` or ``%s`` parameters)."""

    mark = "?"

    @abstractmethod
    def _run(self, sql: str, params: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        """Run one statement on its own connection: (rows changed, rows read)."""

    def _q(self, sql: str) -> str:
        return sql.replace("?", self.mark)

    def insert(self, parent: ParentOrder) -> None:
        self._run(
            self._q(f"INSERT INTO algo_parents ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            _row(parent),
        )

    def update(self, parent: ParentOrder) -> None:
        row = _row(parent)
        changed, _ = self._run(
            self._q(
                "UPDATE algo_parents SET status = ?, state = ?, updated_at = ?, version = ? "
                "WHERE parent_id = ? AND version = ?"
            ),
            (row[5], row[6], row[8], parent.version, parent.parent_id, parent.version - 1),
        )
        if changed != 1:
            raise StaleOrder(f"parent {parent.parent_id} changed meanwhile")

    def _select(self, where: str, params: tuple[Any, ...], tail: str = "") -> list[ParentOrder]:
        _, rows = self._run(
            self._q(f"SELECT {_COLUMNS} FROM algo_parents WHERE {where} {tail}"), params
        )
        return [_parent(tuple(r)) for r in rows]

    def get(self, parent_id: str) -> ParentOrder | None:
        found = self._select("parent_id = ?", (parent_id,))
        return found[0] if found else None

    def find(self, account_id: str, idempotency_key: str) -> ParentOrder | None:
        found = self._select(
            "account_id = ? AND idempotency_key = ?", (account_id, idempotency_key)
        )
        return found[0] if found else None

    def working(self) -> list[ParentOrder]:
        marks = ", ".join("?" for _ in _TERMINAL)
        return self._select(f"status NOT IN ({marks})", _TERMINAL, "ORDER BY created_at, parent_id")

    def latest(self, limit: int = 50) -> list[ParentOrder]:
        return self._select("1 = 1", (limit,), "ORDER BY created_at DESC, parent_id DESC LIMIT ?")


class SqliteParentBook(_SqlParentBook):
    """The ``algo_parents`` table of a SQLite store file, on a connection of its own."""

    def __init__(self, path: str) -> None:
        self._path = path

    def _run(self, sql: str, params: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        try:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            try:
                cursor = conn.execute(sql, params)
                return cursor.rowcount, cursor.fetchall()
            finally:
                conn.close()
        except sqlite3.IntegrityError as exc:
            raise DuplicateKey(f"parent order already recorded: {exc}") from exc
        except sqlite3.Error as exc:
            raise PersistenceError(f"cannot reach the parent orders: {exc}") from exc


class PooledParentBook(_SqlParentBook):
    """The ``algo_parents`` table through a store's pooled ``connection()`` (PostgreSQL)."""

    mark = "%s"

    def __init__(self, connection: Callable[[], AbstractContextManager[Any]]) -> None:
        self._connection = connection

    def _run(self, sql: str, params: tuple[Any, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        import psycopg

        try:
            with self._connection() as conn:
                cursor = conn.execute(sql, params)
                rows = cursor.fetchall() if cursor.description is not None else []
                return cursor.rowcount, rows
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateKey(f"parent order already recorded: {exc}") from exc
        except psycopg.Error as exc:
            raise PersistenceError(f"cannot reach the parent orders: {exc}") from exc


_MEMORY_BOOKS: weakref.WeakKeyDictionary[object, MemoryParentBook] = weakref.WeakKeyDictionary()
_MEMORY_LOCK = threading.Lock()


def parent_book_for(store: object) -> ParentBook:
    """The book that belongs with ``store``: its SQLite file, its pool, else its memory."""
    path = getattr(store, "path", None)
    if isinstance(path, str | bytes) or hasattr(path, "__fspath__"):
        text = str(path)
        if text != ":memory:":
            return SqliteParentBook(text)
    connection = getattr(store, "connection", None)
    if callable(connection) and str(getattr(store, "url", "")).startswith("postgres"):
        return PooledParentBook(connection)
    with _MEMORY_LOCK:
        book = _MEMORY_BOOKS.get(store)
        if book is None:
            book = _MEMORY_BOOKS[store] = MemoryParentBook()
        return book
