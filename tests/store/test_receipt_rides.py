"""A submit's receipt rides a later group commit only where a look-up gives the broker's
answer back (DESIGN.md, "Commits may be shared"); elsewhere it is durable when the
caller hears of it. The intent is durable before the broker is called, always."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.domain.capabilities import ClientIdDedupe
from ordergate.domain.enums import OrderStatus
from ordergate.domain.wire import BrokerOrder, OrderRequest
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.recovery import recover
from ordergate.store.sqlite import SqliteStore


def status_elsewhere(path: str, order_id: str) -> str | None:
    """The order's status as another connection sees it: committed state only."""
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT status FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        return None if row is None else str(row[0])
    finally:
        conn.close()


class CheckedPaper(PaperBroker):
    """A paper broker that notes, as each order reaches it, whether its intent is durable."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.durable_at_send: list[bool] = []

    def submit(self, request: OrderRequest) -> BrokerOrder:
        conn = sqlite3.connect(self.path)
        try:
            row = conn.execute(
                "SELECT status FROM orders WHERE client_order_id = ?", (request.client_order_id,)
            ).fetchone()
        finally:
            conn.close()
        self.durable_at_send.append(row is not None and row[0] == "SUBMITTED")
        return super().submit(request)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "rides.db", group_linger_s=60.0)  # no flusher in the way
    s.migrate()
    yield s
    s.close()


def intent(key: str) -> dict[str, str]:
    return {"symbol": "AAPL", "side": "buy", "qty": "1", "idempotency_key": key}


def test_where_a_look_up_gives_it_back_the_receipt_rides_and_recovery_restores_it(
    store: SqliteStore, tmp_path: Path
) -> None:
    broker = CheckedPaper(store.path)  # dedupes, and a miss is conclusive
    engine = ExecutionEngine(store, broker)
    engine.mark("AAPL", "100")
    report = engine.submit(intent("k1"))
    assert report.status is OrderStatus.FILLED
    assert broker.durable_at_send == [True]
    # told FILLED, not durable yet: a crash now would leave SUBMITTED on disk
    assert status_elsewhere(store.path, report.order_id) == "SUBMITTED"
    # ... which recovery turns into what the caller was told, by looking the order up
    crashed = tmp_path / "crashed.db"
    disk = sqlite3.connect(store.path)
    try:
        disk.execute(f"VACUUM INTO '{crashed}'")  # the file as a crash would leave it
    finally:
        disk.close()
    after = SqliteStore(crashed)
    after.migrate()
    try:
        again = ExecutionEngine(after, broker)
        recover(again)
        assert again.order(report.order_id).status is OrderStatus.FILLED
    finally:
        after.close()
    engine.submit(intent("k2"))  # the next unit commits the group it rode in
    assert status_elsewhere(store.path, report.order_id) == "FILLED"


def test_elsewhere_the_receipt_is_durable_when_the_caller_hears_of_it(
    store: SqliteStore,
) -> None:
    broker = CheckedPaper(store.path)
    broker.capabilities = replace(
        broker.capabilities, dedupe=ClientIdDedupe.NEVER, lookup_miss_conclusive=False
    )
    engine = ExecutionEngine(store, broker)
    engine.mark("AAPL", "100")
    report = engine.submit(intent("k1"))
    assert report.status is OrderStatus.FILLED
    assert broker.durable_at_send == [True]
    assert status_elsewhere(store.path, report.order_id) == "FILLED"
