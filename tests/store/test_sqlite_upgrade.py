"""A database made before migration 0008 keeps its intents, keys and trades."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.domain.errors import IdempotencyConflict
from ordergate.engine.engine import ExecutionEngine
from ordergate.store import migrate
from ordergate.store.sqlite import SqliteStore


def test_intents_survive_the_move_to_a_heap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tmp_path / "migrations"
    shutil.copytree(migrate.migrations_dir("sqlite"), before)
    (before / "0008_intents_heap.sql").unlink()
    with monkeypatch.context() as m:
        m.setattr(migrate, "migrations_dir", lambda dialect: str(before))
        store = SqliteStore(tmp_path / "old.db", synchronous="NORMAL")
        store.migrate()
        engine = ExecutionEngine(store, PaperBroker())
        engine.mark("AAPL", "150.00")
        first = engine.submit({"symbol": "AAPL", "side": "buy", "qty": "3", "key": "k-1"})
        store.close()

    store = SqliteStore(tmp_path / "old.db", synchronous="NORMAL")
    store.migrate()  # 0008 now
    engine = ExecutionEngine(store, PaperBroker())
    again = engine.submit({"symbol": "AAPL", "side": "buy", "qty": "3", "key": "k-1"})
    assert again.replayed
    assert again.order_id == first.order_id
    with pytest.raises(IdempotencyConflict):
        engine.submit({"symbol": "AAPL", "side": "buy", "qty": "4", "key": "k-1"})
    conn = sqlite3.connect(tmp_path / "old.db")
    assert conn.execute("SELECT count(*) FROM trades").fetchone() == (1,)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
    assert "intents_key" in tables
    assert "intents_before_0008" not in tables
    conn.close()
    store.close()
