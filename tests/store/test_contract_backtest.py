"""The store contract on the backtest store, with batches small enough that the reads
and the duplicate checks meet rows already written to its file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ordergate.store.backtest import BacktestStore
from ordergate.store.base import Store

from .contract import StoreContract


class TestBacktestStore(StoreContract):
    @pytest.fixture(params=[1, 8192], ids=["batch-1", "batch-8192"])
    def store(self, request: pytest.FixtureRequest) -> Iterator[Store]:
        store = BacktestStore(batch=request.param, filter_bits=12)
        store.migrate()
        yield store
        store.close()
