"""The audit chain's small port: what verification reads and retention writes, with a
SQLite and a PostgreSQL side, so both stores' chains go through the same code."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TypeVar

from ordergate.store.chain import (
    PG_HEAD_IN,
    PG_PARTITION_LOCK,
    SQLITE_HEAD,
    pg_lock_key,
    seq_range,
)

#: The first ``seq`` above ``?`` among events, stubs and anchors (see :func:`partitions`).
_NEXT_SEQ = (
    "SELECT MIN(seq) FROM (SELECT MIN(seq) AS seq FROM order_events WHERE seq > ?"
    " UNION ALL SELECT MIN(seq) FROM audit_pruned WHERE seq > ?"
    " UNION ALL SELECT MIN(seq) FROM audit_anchors WHERE seq > ?) AS firsts"
)


def partitions(one: Callable[[str, Sequence[Any]], Sequence[Any] | None]) -> list[int]:
    """The chain partitions that hold any row, ascending: one index look-up each (the
    first ``seq`` above the previous partition's range), never a scan."""
    found: list[int] = []
    floor = 0
    while True:
        row = one(_NEXT_SEQ, (floor, floor, floor))
        if row is None or row[0] is None:
            return found
        partition = int(row[0]) // seq_range(1)[0]
        found.append(partition)
        floor = seq_range(partition)[1]


class ChainSource(Protocol):
    """What the walk reads: rows for SQL written with ``?`` marks, in one snapshot."""

    #: appended to ``ORDER BY`` a text column so that rows come in Python's str order
    collate: str

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Sequence[Any]]: ...
    def one(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Any] | None: ...
    def snapshot(self) -> AbstractContextManager[None]: ...


S = TypeVar("S", bound=ChainSource)


class ChainStore(ChainSource, Protocol):
    """A source that retention and the seal also write through."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement (``?`` marks); the cursor has ``rowcount`` and rows."""
        ...

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement (``?`` marks) for each of ``rows``."""
        ...

    def begin_write(self, partition: int = 0) -> None:
        """Begin a transaction that holds ``partition``'s write lock until it ends."""
        ...

    def head(self, partition: int = 0) -> Sequence[Any] | None:
        """``partition``'s ``(seq, hash)`` (inside :meth:`begin_write`), None when empty."""
        ...

    def lock_partition(self, partition: int) -> None:
        """Inside :meth:`begin_write`: hold ``partition``'s write lock too (take them in
        ascending order, after partition 0's)."""
        ...

    def has_table(self, name: str) -> bool: ...


class SqliteChain:
    """A SQLite connection (autocommit, as :func:`~ordergate.obs.db.open_sqlite` opens it)."""

    collate = ""  # BINARY: byte order, as Python orders str

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, tuple(params))

    def begin_write(self, partition: int = 0) -> None:
        self.conn.execute("BEGIN IMMEDIATE")  # one writer: every partition's lock

    def lock_partition(self, partition: int) -> None:
        """Held already: ``BEGIN IMMEDIATE`` locks the whole file."""

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, [tuple(r) for r in rows])

    def head(self, partition: int = 0) -> Sequence[Any] | None:
        if partition == 0:
            return self.one(SQLITE_HEAD)
        lo, hi = seq_range(partition)
        return self.one(
            "SELECT seq, hash FROM (SELECT seq, hash FROM order_events WHERE seq > ? AND seq < ?"
            " UNION ALL SELECT seq, hash FROM audit_pruned WHERE seq > ? AND seq < ?"
            " UNION ALL SELECT seq, hash FROM audit_anchors WHERE seq > ? AND seq < ?)"
            " ORDER BY seq DESC LIMIT 1",
            (lo, hi) * 3,
        )

    def has_table(self, name: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Sequence[Any]]:
        return iter(self.conn.execute(sql, tuple(params)))

    def one(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Any] | None:
        row: Sequence[Any] | None = self.conn.execute(sql, tuple(params)).fetchone()
        return row

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        self.conn.execute("BEGIN")  # a writer beside us does not shift the walk
        try:
            yield
        finally:
            self.conn.execute("COMMIT")


class PostgresChain:
    """A psycopg connection in autocommit mode; the walk runs in one read-only
    repeatable-read transaction, a purge in one read-committed one."""

    collate = ' COLLATE "C"'  # byte order, as Python orders str

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), tuple(params))

    def begin_write(self, partition: int = 0) -> None:
        """BEGIN, and the partition's lock the store's writers take (``store.pg_uow``)."""
        self.conn.execute("BEGIN")
        self.conn.execute(PG_PARTITION_LOCK, (pg_lock_key(partition),))

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.cursor().executemany(sql.replace("?", "%s"), [tuple(r) for r in rows])

    def head(self, partition: int = 0) -> Sequence[Any] | None:
        lo, hi = seq_range(partition)
        row: Sequence[Any] | None = self.conn.execute(PG_HEAD_IN, (lo, hi) * 3).fetchone()
        return row

    def lock_partition(self, partition: int) -> None:
        self.conn.execute(PG_PARTITION_LOCK, (pg_lock_key(partition),))

    def has_table(self, name: str) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
        return row is not None and row[0] is not None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Sequence[Any]]:
        return iter(self.conn.execute(sql.replace("?", "%s"), tuple(params)))

    def one(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Any] | None:
        row: Sequence[Any] | None = self.conn.execute(
            sql.replace("?", "%s"), tuple(params)
        ).fetchone()
        return row

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        with self.conn.transaction():
            self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield


def chain_of(conn: sqlite3.Connection | S) -> SqliteChain | S:
    """``conn`` as a chain source (a bare SQLite connection is wrapped)."""
    return SqliteChain(conn) if isinstance(conn, sqlite3.Connection) else conn
