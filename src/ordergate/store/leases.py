"""Ownership of open orders when several engine processes share one database.

Each open order is tracked and recovered by one process at a time: the one holding its
lease. A process claims the orders it creates, renews its leases on a heartbeat well
inside the time to live, and releases them when the orders end (or on a clean stop).
When a process dies its leases expire, and another process takes the orphans over with
:meth:`OrderLeases.claim_orphans`, looking each up at the broker as startup recovery
does.

A lease is a promise about who *should* act, not a lock on the order: a process that
stalls past its lease may briefly act beside the new owner. That is safe because every
order change is versioned (the loser's write fails) and broker updates apply once
(fills are keyed by ``exec_id``); leases only keep the work from being done twice, and
make sure it is done at all.

Backends: :class:`SqliteLeases` (a SQLite file, shared by processes on one host),
:class:`MemoryLeases` (an in-memory store: one process) and
``ordergate.store.pg_leases.PostgresLeases``. :func:`leases_for` picks one.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ordergate.domain.errors import PersistenceError
from ordergate.store.base import Store
from ordergate.store.lease_port import (
    OPEN_STATUSES,
    UNSENT_STATUSES,
    Lease,
    OrderLeases,
    SendFence,
    SendGrant,
    SharedRoles,
)

if TYPE_CHECKING:
    from ordergate.store.sqlite import SqliteStore

__all__ = [
    "OPEN_STATUSES",
    "Lease",
    "MemoryLeases",
    "OrderLeases",
    "SendFence",
    "SendGrant",
    "SharedRoles",
    "SqliteLeases",
    "leases_for",
]


def leases_for(store: Store, owner: str) -> OrderLeases:
    """The lease backend that fits ``store``."""
    from ordergate.store.backtest import BacktestStore
    from ordergate.store.memory import MemoryStore
    from ordergate.store.sqlite import SqliteStore

    if isinstance(store, MemoryStore | BacktestStore):
        return MemoryLeases(store, owner)
    if isinstance(store, SqliteStore):
        if store.path == ":memory:":
            return MemoryLeases(store, owner)
        return SqliteLeases(store.path, owner, beside=store)
    try:
        from ordergate.store.pg_leases import PostgresLeases
        from ordergate.store.postgres import PostgresStore
    except ImportError as exc:
        raise PersistenceError(f"no lease backend for {type(store).__name__}") from exc
    if isinstance(store, PostgresStore):
        return PostgresLeases(store, owner)
    raise PersistenceError(f"no lease backend for {type(store).__name__}")


def _micros(ttl: timedelta) -> int:
    return ttl // timedelta(microseconds=1)


def _wall_micros() -> int:
    return time.time_ns() // 1000


def _from_micros(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


class _Table:
    """The lease rows of one in-memory store, shared by every owner's view of it."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, int]] = {}
        self.lock = threading.Lock()


#: One table per in-memory store, gone with the store.
_TABLES: weakref.WeakKeyDictionary[Store, _Table] = weakref.WeakKeyDictionary()
_TABLES_LOCK = threading.Lock()


class MemoryLeases:
    """Leases for a store only one process can see (SQLite ``:memory:``); every owner
    on one store shares one table, as they would share the database's."""

    def __init__(
        self, store: Store, owner: str, *, now_us: Callable[[], int] = _wall_micros
    ) -> None:
        self.owner = owner
        self._store = store
        self._now = now_us
        with _TABLES_LOCK:
            table = _TABLES.setdefault(store, _Table())
        self._rows = table.rows
        self._lock = table.lock

    def _take(self, order_id: str, until: int, now: int) -> bool:
        current = self._rows.get(order_id)
        if current is None or current[0] == self.owner or current[1] < now:
            self._rows[order_id] = (self.owner, until)
            return True
        return False

    def claim(self, order_ids: Sequence[str], ttl: timedelta) -> list[str]:
        now = self._now()
        with self._lock:
            return sorted(i for i in set(order_ids) if self._take(i, now + _micros(ttl), now))

    def begin_send(self, order_id: str, ttl: timedelta) -> SendGrant | None:
        """Claim ``order_id`` for a send if it is still unsent (see :class:`SendFence`)."""
        order = self._store.get_order(order_id)
        if order is None or order.status.value not in UNSENT_STATUSES:
            return None
        now = self._now()
        with self._lock:
            previous = self._rows.get(order_id)
            if not self._take(order_id, now + _micros(ttl), now):
                return None
        return SendGrant(0, previous_owner=None if previous is None else previous[0])

    def end_send(self, order_id: str) -> None:
        """Nothing is marked in flight here: one process sees this table."""

    def claim_orphans(self, ttl: timedelta, limit: int = 100) -> list[str]:
        now = self._now()
        taken: list[str] = []
        orders = self._store.open_orders()
        settled = _from_micros(now - _micros(ttl))
        with self._lock:
            for order in orders:
                if len(taken) >= limit:
                    break
                if order.updated_at >= settled:
                    continue
                current = self._rows.get(order.order_id)
                if (current is None or current[1] < now) and self._take(
                    order.order_id, now + _micros(ttl), now
                ):
                    taken.append(order.order_id)
        return taken

    def renew(self, ttl: timedelta) -> list[str]:
        until = self._now() + _micros(ttl)
        with self._lock:
            mine = sorted(i for i, (owner, _) in self._rows.items() if owner == self.owner)
            for order_id in mine:
                self._rows[order_id] = (self.owner, until)
        return mine

    def release(self, order_ids: Sequence[str]) -> None:
        with self._lock:
            for order_id in order_ids:
                if self._rows.get(order_id, ("", 0))[0] == self.owner:
                    del self._rows[order_id]

    def release_all(self) -> None:
        with self._lock:
            for order_id in [i for i, (o, _) in self._rows.items() if o == self.owner]:
                del self._rows[order_id]

    def lease(self, order_id: str) -> Lease | None:
        with self._lock:
            row = self._rows.get(order_id)
        return None if row is None else Lease(order_id, row[0], _from_micros(row[1]))

    def held(self) -> list[str]:
        now = self._now()
        with self._lock:
            return sorted(i for i, (o, t) in self._rows.items() if o == self.owner and t >= now)

    def prune(self) -> int:
        open_ids = {o.order_id for o in self._store.open_orders()}
        with self._lock:
            gone = [i for i in self._rows if i not in open_ids]
            for order_id in gone:
                del self._rows[order_id]
        return len(gone)


class SqliteLeases:
    """Leases in the ``order_leases`` table of a SQLite file, on a connection of their own
    (the engine's connection stays free for orders). Times are this host's clock, which
    every process on one file shares.

    Its commits do not wait for the disk (``synchronous = NORMAL``): a lease is a hint
    about who should act, and one lost to a power cut is an order nobody holds, which
    the next heartbeat takes over as it takes any orphan. Waiting for an fsync on every
    claim and release doubled the disk flushes of each order ``serve`` handled.
    """

    def __init__(
        self,
        path: str,
        owner: str,
        *,
        busy_timeout_ms: int = 5000,
        beside: SqliteStore | None = None,
    ) -> None:
        """``beside``: the engine's store on the same file; the leases then write and
        read on its connection, each write a unit of work in its group commit
        (:meth:`SqliteStore.unit_connection`; a release rides the next commit), so the
        two never meet in SQLite's busy handler (it sleeps a millisecond and more per
        clash). Without it, a connection of their own."""
        self.owner = owner
        self._lock = threading.Lock()
        self._beside = beside
        try:
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise PersistenceError(f"cannot open the lease table in {path}: {exc}") from exc

    @contextmanager
    def _tx(self, *, hint: bool = False) -> Iterator[sqlite3.Connection]:
        """One write; ``hint``: one a crash may lose (a release), which may ride the
        next group commit of the store beside."""
        if self._beside is not None:
            with self._beside.unit_connection(defer=hint) as conn:
                yield conn
            return
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise PersistenceError(f"the SQLite lease table failed: {exc}") from exc

    def _take(self, conn: sqlite3.Connection, ids: Sequence[str], until: int, now: int) -> None:
        conn.executemany(
            "INSERT INTO order_leases (order_id, owner, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (order_id) DO UPDATE SET owner = excluded.owner, "
            "expires_at = excluded.expires_at "
            "WHERE order_leases.owner = excluded.owner OR order_leases.expires_at < ?",
            [(i, self.owner, until, now) for i in ids],
        )

    def _mine(self, conn: sqlite3.Connection, ids: Sequence[str], until: int) -> list[str]:
        marks = ", ".join("?" * len(ids))
        rows = conn.execute(
            f"SELECT order_id FROM order_leases WHERE owner = ? AND expires_at = ? "
            f"AND order_id IN ({marks}) ORDER BY order_id",
            (self.owner, until, *ids),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def claim(self, order_ids: Sequence[str], ttl: timedelta) -> list[str]:
        ids = sorted(set(order_ids))
        if not ids:
            return []
        now = _wall_micros()
        until = now + _micros(ttl)
        with self._tx() as conn:
            self._take(conn, ids, until, now)
            return self._mine(conn, ids, until)

    def begin_send(self, order_id: str, ttl: timedelta) -> SendGrant | None:
        """Claim ``order_id`` for a send if it is still unsent (see :class:`SendFence`):
        the order's status, the lease it had and the claim in one unit of work.

        Beside the engine's store the unit is not waited for (it rides the receipt's
        commit, as every lease here is a hint: see the class). It still excludes: from
        the claim until its group commits, this process holds SQLite's write lock, so
        no other process can claim the order in between; and a crash before that commit
        leaves the order unleased, taken over as any orphan (looked up first). Before,
        the status was read apart (a read commits the open group) and the claim waited
        for its own durable commit: two flushes more for every order ``serve`` sent."""
        now = _wall_micros()
        until = now + _micros(ttl)
        with self._tx(hint=True) as conn:
            row = conn.execute(
                "SELECT o.status, l.owner FROM orders o LEFT JOIN order_leases l "
                "ON l.order_id = o.order_id WHERE o.order_id = ?",
                (order_id,),
            ).fetchone()
            if row is None or row[0] not in UNSENT_STATUSES:
                return None
            self._take(conn, [order_id], until, now)
            if not self._mine(conn, [order_id], until):
                return None
        return SendGrant(0, previous_owner=None if row[1] is None else str(row[1]))

    def end_send(self, order_id: str) -> None:
        """Nothing is marked in flight here: the status read in the claim is the check."""

    def claim_orphans(self, ttl: timedelta, limit: int = 100) -> list[str]:
        now = _wall_micros()
        until = now + _micros(ttl)
        marks = ", ".join("?" * len(OPEN_STATUSES))
        with self._tx() as conn:
            rows = conn.execute(
                f"SELECT o.order_id FROM orders o LEFT JOIN order_leases l "
                f"ON l.order_id = o.order_id WHERE o.status IN ({marks}) "
                f"AND (l.order_id IS NULL OR l.expires_at < ?) AND o.updated_at < ? "
                f"ORDER BY o.created_at, o.order_id LIMIT ?",
                (*OPEN_STATUSES, now, _from_micros(now - _micros(ttl)).isoformat(), limit),
            ).fetchall()
            ids = [str(r[0]) for r in rows]
            if not ids:
                return []
            self._take(conn, ids, until, now)
            return self._mine(conn, ids, until)

    def renew(self, ttl: timedelta) -> list[str]:
        until = _wall_micros() + _micros(ttl)
        with self._tx() as conn:
            conn.execute(
                "UPDATE order_leases SET expires_at = ? WHERE owner = ?", (until, self.owner)
            )
            rows = conn.execute(
                "SELECT order_id FROM order_leases WHERE owner = ? ORDER BY order_id",
                (self.owner,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def release(self, order_ids: Sequence[str]) -> None:
        with self._tx(hint=True) as conn:
            conn.executemany(
                "DELETE FROM order_leases WHERE order_id = ? AND owner = ?",
                [(i, self.owner) for i in order_ids],
            )

    def release_all(self) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM order_leases WHERE owner = ?", (self.owner,))

    def lease(self, order_id: str) -> Lease | None:
        rows = self._query(
            "SELECT order_id, owner, expires_at FROM order_leases WHERE order_id = ?", (order_id,)
        )
        return None if not rows else Lease(rows[0][0], rows[0][1], _from_micros(rows[0][2]))

    def held(self) -> list[str]:
        rows = self._query(
            "SELECT order_id FROM order_leases WHERE owner = ? AND expires_at >= ? "
            "ORDER BY order_id",
            (self.owner, _wall_micros()),
        )
        return [str(r[0]) for r in rows]

    def prune(self) -> int:
        marks = ", ".join("?" * len(OPEN_STATUSES))
        with self._tx() as conn:
            cursor = conn.execute(
                f"DELETE FROM order_leases WHERE order_id NOT IN "
                f"(SELECT order_id FROM orders WHERE status IN ({marks}))",
                OPEN_STATUSES,
            )
            return cursor.rowcount

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if self._beside is not None:
            return self._beside.read_beside(sql, params)
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise PersistenceError(f"the SQLite lease table failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()
