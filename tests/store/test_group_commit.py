"""Group commit on SQLite (``store/group_commit.py``): concurrent units of work share a
commit, each is released only once another connection can see it, a failed unit takes
only itself back, a deferred unit rides the next commit, and the chain stays one."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ordergate.domain.errors import PersistenceError
from ordergate.obs.audit import verify_chain
from ordergate.store.base import EventRecord
from ordergate.store.group_commit import defer_commit
from ordergate.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)
WRITERS = 8


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "group.db", group_linger_s=5.0)
    s.migrate()
    yield s
    s.close()


def event(n: int) -> EventRecord:
    return EventRecord(None, "ops.test", None, None, f'{{"n":{n}}}', T0)


def seen_elsewhere(path: str, n: int) -> bool:
    """Whether another connection sees event ``n``: only a commit shows it."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT payload FROM order_events").fetchall()
        return f'{{"n":{n}}}' in {r[0] for r in rows}
    finally:
        conn.close()


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.001)


def queue_writers(store: SqliteStore, body: object) -> tuple[list[object], int]:
    """One writer holds the connection while the others queue behind it; then all go.
    Returns what each writer found right after its unit returned, and the commits."""
    results: list[object] = [None] * WRITERS
    hold = threading.Event()
    inside = threading.Event()

    def writer(n: int) -> None:
        try:
            with store.transaction() as tx:
                if n == 0:
                    inside.set()
                    hold.wait(10)
                body(tx, n)  # type: ignore[operator]
            results[n] = seen_elsewhere(store.path, n)
        except Exception as exc:
            results[n] = exc

    before = store._group.commits
    first = threading.Thread(target=writer, args=(0,))
    first.start()
    inside.wait(10)
    others = [threading.Thread(target=writer, args=(n,)) for n in range(1, WRITERS)]
    for thread in others:
        thread.start()
    wait_for(lambda: store._group._arriving == WRITERS - 1)
    hold.set()
    for thread in [first, *others]:
        thread.join(20)
    return results, store._group.commits - before


def test_queued_units_share_one_commit_and_each_returns_durable(store: SqliteStore) -> None:
    results, commits = queue_writers(store, lambda tx, n: tx.record_events([event(n)]))
    assert results == [True] * WRITERS  # each unit was visible to others when it returned
    assert commits == 1  # and all of them were one fsync
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("SELECT count(*) FROM order_events").fetchone()[0] == WRITERS
        assert verify_chain(conn).ok  # one chain through the units of the group
    finally:
        conn.close()


def test_a_released_member_does_not_queue_for_the_connection_again(store: SqliteStore) -> None:
    """A follower is released by its group's commit even while the connection's lock is
    taken by the next writer: it does not take the lock back to return (eight
    submitters were slower than one while each released member queued for it)."""
    go, follower_done, lock_still_held = threading.Event(), threading.Event(), []

    def follower() -> None:
        with store.transaction() as tx:
            tx.record_events([event(1)])
            go.wait(10)  # ends while the leader queues: hands the group on, waits
        follower_done.set()

    def leader() -> None:
        with store.transaction() as tx:
            tx.record_events([event(2)])
            store._lock.acquire()  # kept past this unit's commit, as a next writer would
        try:
            lock_still_held.append(follower_done.wait(5))
        finally:
            store._lock.release()

    first = threading.Thread(target=follower)
    first.start()
    wait_for(lambda: store._group.members == 0 and store._group.open)  # inside its unit
    second = threading.Thread(target=leader)
    second.start()
    wait_for(lambda: store._group._arriving == 1)
    go.set()
    first.join(10)
    second.join(10)
    assert lock_still_held == [True]  # returned while the lock was taken
    assert seen_elsewhere(store.path, 1)
    assert seen_elsewhere(store.path, 2)


def test_a_failed_unit_takes_back_only_itself(store: SqliteStore) -> None:
    def body(tx: object, n: int) -> None:
        tx.record_events([event(n)])  # type: ignore[attr-defined]
        if n == 3:
            raise RuntimeError("this step failed after writing")

    results, commits = queue_writers(store, body)
    assert isinstance(results[3], RuntimeError)
    assert [r for i, r in enumerate(results) if i != 3] == [True] * (WRITERS - 1)
    assert not seen_elsewhere(store.path, 3)
    assert commits == 1
    conn = sqlite3.connect(store.path)
    try:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM order_events ORDER BY seq")]
        assert seqs == list(range(1, WRITERS))  # no gap where the failed unit was
        assert verify_chain(conn).ok
    finally:
        conn.close()


class FailingCommit:
    """The store's connection, whose COMMIT fails (a disk that went away)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.failing = True

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.failing:
            raise sqlite3.OperationalError("disk I/O error")
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)


def test_a_failed_commit_fails_every_member(store: SqliteStore) -> None:
    with store.transaction() as tx:
        tx.record_events([event(100)])
    failing = FailingCommit(store._conn)
    store._conn = failing  # type: ignore[assignment]
    results, _ = queue_writers(store, lambda tx, n: tx.record_events([event(n)]))
    failing.failing = False
    assert all(isinstance(r, Exception) and "disk I/O" in str(r) for r in results), results
    assert not any(seen_elsewhere(store.path, n) for n in range(WRITERS))
    with store.transaction() as tx:  # the store goes on, the chain from where it was
        tx.record_events([event(99)])
    assert seen_elsewhere(store.path, 99)
    conn = sqlite3.connect(store.path)
    try:
        assert [r[0] for r in conn.execute("SELECT seq FROM order_events")] == [1, 2]
        assert verify_chain(conn).ok
    finally:
        conn.close()


class InterruptedCommit(FailingCommit):
    """A COMMIT that raises what is not a database error (an interrupt, a bug)."""

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.failing:
            self.failing = False
            raise RuntimeError("interrupted")
        return self.conn.execute(sql, *args)


def test_a_commit_interrupted_by_anything_releases_its_members(store: SqliteStore) -> None:
    """Whatever stops the leader's commit, the members waiting for it are let go with an
    error, not left waiting for a commit that will not come."""
    store._conn = InterruptedCommit(store._conn)  # type: ignore[assignment]
    results, _ = queue_writers(store, lambda tx, n: tx.record_events([event(n)]))
    assert all(isinstance(r, Exception) for r in results), results
    assert sum(isinstance(r, RuntimeError) for r in results) == 1  # the leader's own
    assert all("interrupted" in str(r) for r in results)
    with store.transaction() as tx:  # the store goes on; nothing of the group is kept
        tx.record_events([event(99)])
    assert seen_elsewhere(store.path, 99)
    assert not any(seen_elsewhere(store.path, n) for n in range(WRITERS))


def test_a_deferred_unit_rides_the_next_commit(store: SqliteStore) -> None:
    with store.transaction() as tx:
        tx.record_events([event(1)])
        defer_commit(tx)
    assert not seen_elsewhere(store.path, 1)  # returned before its commit
    with store.transaction() as tx:
        tx.record_events([event(2)])
    assert seen_elsewhere(store.path, 1)
    assert seen_elsewhere(store.path, 2)


def test_a_read_commits_the_open_group_first(store: SqliteStore) -> None:
    with store.transaction() as tx:
        tx.record_events([event(1)])
        defer_commit(tx)
    assert not seen_elsewhere(store.path, 1)
    # an order's state a look-up gives back: read as it stands, nothing committed for it
    assert store.get_order("ord_none") is None
    assert not seen_elsewhere(store.path, 1)
    assert store.outbox_after(0, 10)  # events a relay would publish: durable first
    assert seen_elsewhere(store.path, 1)


def test_a_deferred_unit_alone_is_committed_by_the_flusher(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "linger.db", group_linger_s=0.01)
    store.migrate()
    try:
        with store.transaction() as tx:
            tx.record_events([event(1)])
            defer_commit(tx)
        wait_for(lambda: seen_elsewhere(store.path, 1), timeout=5)
    finally:
        store.close()


def test_many_writers_many_units(store: SqliteStore) -> None:
    """Free-running writers: every unit durable on return, none lost, one chain."""
    count = 40
    bad: list[str] = []

    def writer(w: int) -> None:
        for i in range(count):
            n = w * 1000 + i
            with store.transaction() as tx:
                tx.record_events([event(n)])
            if i % 10 == 0 and not seen_elsewhere(store.path, n):
                bad.append(f"{n} not durable on return")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert bad == []
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("SELECT count(*) FROM order_events").fetchone()[0] == WRITERS * count
        assert verify_chain(conn).ok
    finally:
        conn.close()


def test_a_failed_commit_of_told_answers_stops_the_store(store: SqliteStore) -> None:
    """A deferred unit's caller was told; its group's commit fails: the engine's memory is
    ahead of the disk, so nothing more is written or read until a restart."""
    failing = FailingCommit(store._conn)
    store._conn = failing  # type: ignore[assignment]
    with store.transaction() as tx:
        tx.record_events([event(1)])
        defer_commit(tx)
    with pytest.raises(PersistenceError, match="disk I/O"), store.transaction() as tx:
        tx.record_events([event(2)])
    failing.failing = False
    with pytest.raises(PersistenceError, match="restart"), store.transaction() as tx:
        tx.record_events([event(3)])
    with pytest.raises(PersistenceError, match="restart"):
        store.outbox_after(0, 10)
    store._conn = failing.conn
    reopened = SqliteStore(store.path)
    try:
        assert reopened.outbox_after(0, 10) == []  # nothing of the failed group
    finally:
        reopened.close()
