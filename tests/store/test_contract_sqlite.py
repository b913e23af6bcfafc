"""The store contract on SQLite: a WAL file, and ``:memory:``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ordergate.store.base import Store
from ordergate.store.memory import MemoryStore
from ordergate.store.sqlite import SqliteStore

from .contract import StoreContract


class TestSqliteFileStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = SqliteStore(tmp_path / "contract.db")
        store.migrate()
        yield store
        store.close()


class TestSqliteMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = SqliteStore(":memory:")
        store.migrate()
        yield store
        store.close()


class TestMemoryStore(StoreContract):
    """The in-memory fake is a real adapter: the same contract (STYLE habit 7)."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = MemoryStore()
        store.migrate()
        yield store
        store.close()
