"""The SQLite store remembers the audit chain's head between units of work; a commit
by another connection must make it look again, or the chain would fork."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from ordergate.obs.audit import verify_chain
from ordergate.store.base import EventRecord
from ordergate.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)


def write(store: SqliteStore, n: int) -> None:
    with store.transaction() as tx:
        tx.record_events([EventRecord(None, "ops.test", None, None, f'{{"n":{n}}}', T0)])


def test_two_writers_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first, second = SqliteStore(path), SqliteStore(path)
    first.migrate()
    for n in range(8):
        write(first if n % 3 else second, n)  # runs of one writer, then the other
    conn = sqlite3.connect(path)
    try:
        seqs = [row[0] for row in conn.execute("SELECT seq FROM order_events ORDER BY seq")]
        assert seqs == list(range(1, 9))
        assert verify_chain(conn).ok
    finally:
        conn.close()
        first.close()
        second.close()


def test_a_rolled_back_write_is_forgotten(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "one.db")
    store.migrate()
    write(store, 1)
    try:
        with store.transaction() as tx:
            tx.record_events([EventRecord(None, "ops.test", None, None, "{}", T0)])
            raise RuntimeError("the step failed after writing its events")
    except RuntimeError:
        pass
    write(store, 2)
    conn = sqlite3.connect(store.path)
    try:
        assert [r[0] for r in conn.execute("SELECT seq FROM order_events")] == [1, 2]
        assert verify_chain(conn).ok
    finally:
        conn.close()
        store.close()
