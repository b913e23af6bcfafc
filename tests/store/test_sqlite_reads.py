"""What the SQLite store runs over and over stays small: the tracker's look for late
fills (canceled and expired orders, ten times a second) is served by the partial index
``orders_ended_early`` (before, bound statuses made it read the whole table with the
store's lock held, longer with every order filled), and a group's units read the
data version once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ordergate.domain.enums import OrderStatus
from ordergate.store.base import OrderQuery
from ordergate.store.group_commit import defer_commit
from ordergate.store.sqlite import SqliteStore
from tests.store.contract import event, seed


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "reads.db", synchronous="NORMAL")
    s.migrate()
    yield s
    s.close()


def steps_of(store: SqliteStore, query: OrderQuery) -> tuple[int, list[str]]:
    """SQLite's virtual-machine steps (in hundreds) the query took, and its order ids."""
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    store.flush()
    store._conn.set_progress_handler(tick, 100)
    try:
        orders = store.list_orders(query)
    finally:
        store._conn.set_progress_handler(None, 100)
    return steps[0], [o.order_id for o in orders]


def test_canceled_and_expired_orders_are_found_without_reading_the_filled(
    store: SqliteStore,
) -> None:
    seed(store, 1, status=OrderStatus.CANCELED)
    seed(store, 2, status=OrderStatus.EXPIRED)
    seed(store, *range(10, 3010), status=OrderStatus.FILLED)
    query = OrderQuery(status=("EXPIRED", "CANCELED"), limit=1000)
    steps, found = steps_of(store, query)
    assert found == ["ord-2", "ord-1"]  # newest first, as any list_orders
    assert steps < 10  # a scan of 3,000 orders takes hundreds of these


def test_a_status_that_is_not_ours_is_bound_not_written(store: SqliteStore) -> None:
    seed(store, 1, status=OrderStatus.FILLED)
    assert store.list_orders(OrderQuery(status=("FILLED') OR ('1'='1",))) == []
    assert [o.order_id for o in store.list_orders(OrderQuery(status=("FILLED",)))] == ["ord-1"]


def test_the_data_version_is_read_once_a_group(store: SqliteStore) -> None:
    """The chain head's check against other connections (``PRAGMA data_version``) is
    read once per group commit: inside the group's write lock it cannot change."""
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    try:
        with store.transaction() as tx:  # a receipt that rides the next commit ...
            tx.record_events([event("ord-1", "orders.ack")])
            defer_commit(tx)
        with store.transaction() as tx:  # ... and the next unit, in the same group
            tx.record_events([event("ord-2", "orders.intent")])
    finally:
        store._conn.set_trace_callback(None)
    assert statements.count("PRAGMA data_version") == 1
    assert statements.count("COMMIT") == 1
