"""Closing a SQLite store: what is open is committed, and the WAL is copied back at once."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ordergate.store.sqlite import SqliteStore


def _checkpointer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sqlite-checkpoint"]


def test_close_with_a_deferred_unit_open_truncates_the_wal_and_ends_its_thread(
    tmp_path: Path,
) -> None:
    """A unit that returned before its group was durable (a deferred receipt) leaves the
    group, and SQLite's write lock, open. Closing must commit it before the final
    TRUNCATE checkpoint, which otherwise waits on that lock until its join gives up."""
    path = tmp_path / "og.db"
    before = set(_checkpointer_threads())
    store = SqliteStore(path, synchronous="NORMAL", checkpoint_interval_s=60)
    store.migrate()
    with store.unit_connection(defer=True) as conn:
        conn.execute("CREATE TABLE beside (x INTEGER)")
        conn.execute("INSERT INTO beside VALUES (1)")
    mine = [t for t in _checkpointer_threads() if t not in before]
    assert len(mine) == 1

    store.close()

    assert not mine[0].is_alive(), "the checkpointer was still waiting when close returned"
    wal = Path(f"{path}-wal")
    assert not wal.exists() or os.path.getsize(wal) == 0
    reopened = SqliteStore(path, checkpoint_interval_s=0)
    try:
        assert reopened.read_beside("SELECT x FROM beside", ()) == [(1,)]
    finally:
        reopened.close()
