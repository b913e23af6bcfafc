"""``ordergate audit verify``: walk the hash chain of ``order_events`` and name every
event that was edited, removed or reordered.

The walk starts after the newest anchor (the cut retention left, or the genesis
hash) and goes in ``seq`` order over the live events and the stubs of purged ones:

- **edited**: an event's recomputed hash differs from its stored hash — or its
  stored hash was rewritten too, which the next event's link gives away;
- **removed**: an event's ``prev_hash`` names no event at all (the one it followed is
  gone); the missing ``seq`` range is reported when there is a gap;
- **reordered**: ``prev_hash`` names an event that exists, but elsewhere in the order;
- **unhashed**: an event after the start of the chain carries no hash.

A chain that was cut off at the end (the newest events deleted) is consistent in
itself: pass the head recorded earlier (``--head``, printed by every verify) to
detect that too.

The walk reads through :class:`ChainSource`, one small port with a SQLite and a
PostgreSQL side, so both stores' chains are verified by the same code.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from ordergate.obs.chain import GENESIS, event_hash

MAX_PROBLEMS = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # edited | removed | reordered | unhashed | truncated
    seq: int
    order_id: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seq": self.seq,
            "order_id": self.order_id,
            "detail": self.detail,
        }


@dataclass(slots=True)
class VerifyResult:
    checked: int = 0
    pruned: int = 0
    legacy: int = 0
    anchor_seq: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "pruned_stubs": self.pruned,
            "legacy_unchained": self.legacy,
            "anchor_seq": self.anchor_seq,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "problems": [p.to_dict() for p in self.problems],
        }


class ChainSource(Protocol):
    """What the walk reads: rows for SQL written with ``?`` marks, in one snapshot."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Sequence[Any]]: ...
    def one(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Any] | None: ...
    def snapshot(self) -> AbstractContextManager[None]: ...


S = TypeVar("S", bound=ChainSource)


class ChainStore(ChainSource, Protocol):
    """A source that retention also writes through (``ordergate purge``)."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement (``?`` marks); the cursor has ``rowcount`` and rows."""
        ...

    def begin_write(self) -> None: ...
    def has_table(self, name: str) -> bool: ...


class SqliteChain:
    """A SQLite connection (autocommit, as :func:`~ordergate.obs.db.open_sqlite` opens it)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, tuple(params))

    def begin_write(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

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

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), tuple(params))

    def begin_write(self) -> None:
        self.conn.execute("BEGIN")

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


def _ts(value: Any) -> datetime:
    """SQLite keeps times as ISO text, PostgreSQL hands back datetimes."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


_WALK = (
    "SELECT seq, order_id, topic, from_status, to_status, payload, ts, prev_hash, hash, 0"
    " FROM order_events WHERE seq > ?"
    " UNION ALL SELECT seq, order_id, NULL, NULL, NULL, NULL, ts, prev_hash, hash, 1"
    " FROM audit_pruned WHERE seq > ? ORDER BY seq"
)
_FIND = (
    "SELECT seq, order_id FROM order_events WHERE hash = ?"
    " UNION ALL SELECT seq, order_id FROM audit_pruned WHERE hash = ? LIMIT 1"
)


def latest_anchor(conn: sqlite3.Connection | ChainSource) -> tuple[int, str]:
    row = chain_of(conn).one("SELECT seq, hash FROM audit_anchors ORDER BY seq DESC LIMIT 1")
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def verify_chain(
    conn: sqlite3.Connection | ChainSource, *, expected_head: str | None = None
) -> VerifyResult:
    """Walk the whole chain once, in one consistent read of the database."""
    source = chain_of(conn)
    result = VerifyResult()
    with source.snapshot():
        anchor_seq, prev = latest_anchor(source)
        result.anchor_seq = anchor_seq
        prev_seq = anchor_seq
        started = anchor_seq > 0
        for row in source.rows(_WALK, (anchor_seq, anchor_seq)):
            seq, order_id, stored_prev, stored_hash, pruned = (
                int(row[0]),
                str(row[1]),
                row[7],
                row[8],
                bool(row[9]),
            )
            if stored_hash is None:
                if started:
                    _add(result, Problem("unhashed", seq, order_id, "event has no hash"))
                else:
                    result.legacy += 1
                prev_seq = seq
                continue
            started = True
            result.checked += 1
            result.pruned += pruned
            if stored_prev != prev:
                _add(result, _link_problem(source, seq, order_id, str(stored_prev), prev_seq))
            if not pruned:
                actual = event_hash(
                    str(stored_prev),
                    row[1],  # NULL for operational events: hashed as null
                    row[2],
                    row[3],
                    row[4],
                    row[5],
                    _ts(row[6]),
                )
                if actual != stored_hash:
                    _add(result, Problem("edited", seq, order_id, "content does not match hash"))
            prev, prev_seq = str(stored_hash), seq
        result.head_seq, result.head_hash = prev_seq, prev
    if expected_head is not None and expected_head != result.head_hash:
        problem = _head_problem(source, expected_head, result)
        if problem is not None:
            _add(result, problem)
    return result


def _link_problem(
    source: ChainSource, seq: int, order_id: str, stored_prev: str, prev_seq: int
) -> Problem:
    """Why the link into ``seq`` is broken: its predecessor moved, vanished or changed."""
    found = source.one(_FIND, (stored_prev, stored_prev))
    if found is not None:
        return Problem(
            "reordered",
            seq,
            order_id,
            f"follows seq {found[0]} (order {found[1] or '-'}) in the chain but is stored after "
            f"seq {prev_seq}",
        )
    if seq - prev_seq > 1:
        gap = f"seq {prev_seq + 1}" if seq - prev_seq == 2 else f"seq {prev_seq + 1}-{seq - 1}"
        return Problem("removed", seq, order_id, f"{gap} removed before this event")
    return Problem(
        "edited",
        prev_seq,
        _order_of(source, prev_seq),
        f"rewritten together with its hash (seq {seq} still links to the original)",
    )


def _head_problem(source: ChainSource, expected: str, result: VerifyResult) -> Problem | None:
    """A head recorded earlier must still be in the chain (later events may follow it)."""
    if source.one(_FIND, (expected, expected)) is not None:
        return None
    if source.one("SELECT 1 FROM audit_anchors WHERE hash = ?", (expected,)):
        return None
    return Problem(
        "truncated",
        result.head_seq,
        _order_of(source, result.head_seq),
        "the recorded head is not in the chain: events up to it were removed or rewritten",
    )


def _order_of(source: ChainSource, seq: int) -> str:
    row = source.one(
        "SELECT order_id FROM order_events WHERE seq = ?"
        " UNION ALL SELECT order_id FROM audit_pruned WHERE seq = ?",
        (seq, seq),
    )
    return "" if row is None or row[0] is None else str(row[0])


def _add(result: VerifyResult, problem: Problem) -> None:
    if len(result.problems) < MAX_PROBLEMS:
        result.problems.append(problem)
