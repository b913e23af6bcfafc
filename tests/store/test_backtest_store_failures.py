"""The backtest store fails closed when its file cannot be written."""

from __future__ import annotations

import pytest

from ordergate.domain.errors import PersistenceError
from ordergate.store.backtest import BacktestStore

from .contract import event, intent, order


def submit(store: BacktestStore, n: int) -> None:
    with store.transaction() as tx:
        tx.insert_intent(intent(n))
        tx.insert_order(order(n), f"int-{n}")
        tx.record_events([event(f"ord-{n}", "orders.intent")])


def test_a_unit_of_work_that_cannot_write_its_batch_applies_nothing() -> None:
    store = BacktestStore(batch=2)
    store.migrate()
    submit(store, 1)
    submit(store, 2)  # the batch is full: the next unit of work writes it first
    store._file.close()  # the file goes away under the store (a real sqlite3 error)
    with pytest.raises(PersistenceError):
        submit(store, 3)
    assert store.get_order("ord-3") is None  # nothing of the failed unit of work
    assert store.order("ord-2") is not None  # what committed before is still there
    assert store.find_intent("acct", "key-3") is None
    store.close()


def test_a_closed_store_refuses_every_unit_of_work() -> None:
    store = BacktestStore()
    store.migrate()
    submit(store, 1)
    store.close()
    with pytest.raises(PersistenceError):
        submit(store, 2)
    with pytest.raises(PersistenceError):
        store.outbox_after(0, 10)
