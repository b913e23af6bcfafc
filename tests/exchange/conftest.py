"""An exchange server on a free loopback port, in a thread, with its own SQLite file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.engine.engine import ExecutionEngine
from ordergate.exchange.server import ExchangeServer
from ordergate.store.sqlite import SqliteStore


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[ExchangeServer]:
    server = ExchangeServer("127.0.0.1", 0, tmp_path / "exchange.db")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    thread.join(5)
    server.server_close()


@pytest.fixture
def broker(exchange: ExchangeServer) -> Iterator[ExchangeBroker]:
    adapter = ExchangeBroker(exchange.url, timeout=1.0, stream_wait=0.2)
    adapter.mark("AAPL", "100")
    yield adapter
    adapter.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "og.db")
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def engine(store: SqliteStore, broker: ExchangeBroker) -> ExecutionEngine:
    return ExecutionEngine(store, broker)


def buy(key: str, qty: str = "10", **extra: str) -> dict[str, str]:
    return {"idempotency_key": key, "symbol": "AAPL", "side": "BUY", "qty": qty, **extra}
