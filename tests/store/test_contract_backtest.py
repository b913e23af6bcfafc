"""The store contract on the backtest store, with batches small enough that the reads
and the duplicate checks meet rows already written to its file, and its event log in
Parquet parts and in its SQLite file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ordergate.store.backtest import BacktestStore
from ordergate.store.base import Store

from .contract import StoreContract


class TestBacktestStore(StoreContract):
    @pytest.fixture(
        params=[(1, True), (8192, True), (1, False), (8192, False)],
        ids=["batch-1-parquet", "batch-8192-parquet", "batch-1-sqlite", "batch-8192-sqlite"],
    )
    def store(self, request: pytest.FixtureRequest) -> Iterator[Store]:
        batch, parquet = request.param
        store = BacktestStore(batch=batch, filter_bits=12, parquet=parquet)
        store.migrate()
        yield store
        store.close()
