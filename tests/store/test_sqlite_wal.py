"""The SQLite store's WAL stays bounded under writers that never pause: once the
checkpointer has copied it, SQLite writes it from its start again (``WalCheckpointer``).
Before, a checkpoint beside a busy writer never found the WAL wholly copied, and the
file grew by every frame ever written (~64 KB an order)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from ordergate.store.base import EventRecord
from ordergate.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)


def wal_file_frames(path: str) -> int:
    """Frames the WAL file has room for (it is rewritten in place, never shrunk)."""
    return (Path(path + "-wal").stat().st_size - 32) // (4096 + 24)


def write(store: SqliteStore, units: int) -> None:
    for n in range(units):
        with store.transaction() as tx:
            tx.record_events([EventRecord(None, "ops.test", None, None, f'{{"n":{n}}}', T0)])


def test_the_wal_is_written_from_its_start_again_after_a_checkpoint(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "wal.db", synchronous="NORMAL", checkpoint_interval_s=0.02)
    store.migrate()
    try:
        written = 0
        deadline = time.monotonic() + 20
        while written < 400 or wal_file_frames(store.path) * 2 > written:
            # writers that never wait for the checkpointer; each unit is a frame or more
            assert time.monotonic() < deadline, "the WAL only grew"
            write(store, 50)
            written += 50
    finally:
        store.close()
