"""The PostgreSQL store under several engines (issue 24): version checks, one lock
order, dropped connections, messages without the server's internals, one clock."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ordergate.brokers.base import BrokerOrder, OrderRequest
from ordergate.brokers.paper import PaperBroker
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import PersistenceError
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.redact import Redactor
from ordergate.service.errors import error_response, status_for
from ordergate.store.base import StaleOrder
from ordergate.store.leases import leases_for

from .contract import intent, order, seed
from .pg import fresh_schema, server_url

pytestmark = pytest.mark.postgres
RESTING = {
    "symbol": "AAPL",
    "side": "buy",
    "qty": "5",
    "order_type": "limit",
    "limit_price": "90",
    "time_in_force": "GTC",
}


class SkewedClock:
    """This host's wall clock, ``offset`` off (a host whose NTP is broken)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def store() -> Iterator[Any]:
    from ordergate.store.postgres import PostgresStore

    with fresh_schema(server_url()) as url:
        store = PostgresStore(url, min_size=1, max_size=4)
        store.migrate()
        yield store
        store.close()


def kill(pid: int) -> None:
    import psycopg

    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def pool_pids(store: Any, n: int) -> list[int]:
    """Hold ``n`` pooled connections at once and note their server PIDs."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        conns = [stack.enter_context(store.connection()) for _ in range(n)]
        return [int(c.execute("SELECT pg_backend_pid()").fetchone()[0]) for c in conns]


# ------------------------------------------------------------------ version check


def test_a_changed_order_raises_stale_order_as_on_every_backend(store: Any) -> None:
    seed(store, 1)
    with store.transaction() as tx:
        tx.update_order(order(1, status=OrderStatus.SUBMITTED, version=1), 0)
    with pytest.raises(StaleOrder), store.transaction() as tx:
        tx.update_order(order(1, status=OrderStatus.ACCEPTED, version=1), 0)


class StreamFirst(PaperBroker):
    """The broker's stream reports the order before submit returns (a fast venue)."""

    def submit(self, request: OrderRequest) -> BrokerOrder:
        view = super().submit(request)
        for listener in self._listeners:
            listener(view)
        return view


def test_a_receipt_that_loses_to_the_stream_is_applied_again(store: Any) -> None:
    """Today's answer was 503 E_EXEC_PERSISTENCE for every resting order: the version
    check raised a plain PersistenceError, so the engine's retry never ran."""
    engine = ExecutionEngine(store, StreamFirst())
    engine.mark("AAPL", "100")
    reports = [engine.submit({**RESTING, "key": f"r-{i}"}) for i in range(5)]
    assert {r.status for r in reports} == {OrderStatus.ACCEPTED}


# ------------------------------------------------------------------ lock order


def test_a_broker_update_and_a_receipt_of_one_instrument_do_not_deadlock(store: Any) -> None:
    """A broker update reads the order (row lock), then the position; a receipt reads
    the position, then writes the order row. Opposite orders deadlocked 1-3 % of
    submits; with one lock order the second simply waits for the first."""
    (o,) = seed(store, 1)
    first_read, second_read = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def broker_update() -> None:
        try:
            with store.transaction() as tx:
                current = tx.get_order(o.order_id)
                assert current is not None
                first_read.set()
                second_read.wait(1.5)  # with the fix the receipt waits on us: time out
                position = tx.get_position(current.account_id, current.symbol)
                tx.save_position(position, datetime.now(UTC))
        except BaseException as exc:
            errors.append(exc)

    def receipt() -> None:
        first_read.wait(5)
        try:
            with store.transaction() as tx:
                position = tx.get_position(o.account_id, o.symbol)
                second_read.set()
                tx.update_order(order(1, status=OrderStatus.SUBMITTED, version=1), 0)
                tx.save_position(position, datetime.now(UTC))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=broker_update), threading.Thread(target=receipt)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    got = store.get_order(o.order_id)
    assert got is not None
    assert got.status is OrderStatus.SUBMITTED


def test_a_deadlock_says_so_without_pids_lock_ids_or_sql(store: Any) -> None:
    """Two orders of two instruments locked in opposite orders: the server breaks the
    deadlock; the message a trader sees (the 503 body) names it, and nothing else."""
    seed(store, 1)
    with store.transaction() as tx:
        tx.insert_intent(intent(2))
        tx.insert_order(order(2, symbol="MSFT", client_order_id="cl-2"), "int-2")
    both = threading.Barrier(2, timeout=10)
    errors: list[PersistenceError] = []

    def lock(first: str, second: str) -> None:
        try:
            with store.transaction() as tx:
                tx.get_order(first)
                both.wait()
                tx.get_order(second)
        except PersistenceError as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=lock, args=("ord-1", "ord-2")),
        threading.Thread(target=lock, args=("ord-2", "ord-1")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(errors) == 1
    [error] = errors
    assert "deadlock" in error.message
    assert "40P01" in error.message
    response = error_response(Redactor(), status_for(error), error.code, error.message)
    body = bytes(response.body).decode()
    assert response.status_code == 503
    for leak in (r"[Pp]rocess \d+", r"transaction \d+", r"SELECT", r"FROM", r"advisory", r"pid"):
        assert re.search(leak, body) is None, (leak, body)


# ------------------------------------------------------------------ dropped connections


class KillsTheStoreConnections(PaperBroker):
    """While the order is at the broker, the database drops every connection the
    engine's pool holds (a failover, ``pg_terminate_backend``)."""

    def __init__(self, store: Any) -> None:
        super().__init__()
        self.store = store
        self.pids: list[int] = []

    def submit(self, request: OrderRequest) -> BrokerOrder:
        view = super().submit(request)
        for pid in self.pids:
            kill(pid)
        return view


def test_a_connection_dropped_while_the_order_was_at_the_broker_records_the_receipt(
    store: Any,
) -> None:
    """Today the receipt's unit of work got a dead connection from the pool and the
    placed order was answered E_EXEC_PERSISTENCE, "nothing was sent"."""
    broker = KillsTheStoreConnections(store)
    engine = ExecutionEngine(store, broker)
    engine.mark("AAPL", "100")
    broker.pids = pool_pids(store, 4)
    report = engine.submit({"symbol": "AAPL", "side": "buy", "qty": "1", "key": "k-1"})
    assert report.status is OrderStatus.FILLED
    stored = store.get_order(report.order_id)
    assert stored is not None
    assert stored.status is OrderStatus.FILLED


def test_a_connection_dropped_mid_step_fails_the_step_without_server_text(store: Any) -> None:
    seed(store, 1)
    with pytest.raises(PersistenceError) as info, store.transaction() as tx:  # noqa: PT012
        tx.get_order("ord-1")  # the step has begun (and read): it cannot start over
        pid = int(tx._c.execute("SELECT pg_backend_pid()").fetchone()[0])
        kill(pid)
        tx.get_order("ord-1")
    message = info.value.message
    assert "connection" in message
    assert str(pid) not in message
    assert "administrator" not in message  # the server's own words stay in the log
    assert store.get_order("ord-1") is not None  # and the store goes on


# ------------------------------------------------------------------ one clock


def test_an_order_written_by_a_host_15s_behind_is_not_an_orphan(store: Any) -> None:
    """Orphans were judged by ``orders.updated_at`` (the engine host's clock) against
    the database's: a live process 15 s behind had its new orders taken over."""
    host = SkewedClock(timedelta(seconds=-15))  # the engine's host, paper broker and all
    engine = ExecutionEngine(store, PaperBroker(clock=host), clock=host)
    engine.mark("AAPL", "100")
    report = engine.submit({**RESTING, "key": "r-1"})
    assert report.status is OrderStatus.ACCEPTED
    peer = leases_for(store, "peer")
    assert peer.claim_orphans(timedelta(seconds=10)) == []
    threading.Event().wait(0.3)
    assert peer.claim_orphans(timedelta(milliseconds=200)) == [report.order_id]


def test_a_change_of_hands_draws_a_new_fencing_token(store: Any) -> None:
    a, b = leases_for(store, "proc-a"), leases_for(store, "proc-b")
    assert a.claim(["ord-1"], timedelta(milliseconds=100)) == ["ord-1"]
    first = a.lease("ord-1")
    assert a.claim(["ord-1"], timedelta(milliseconds=100)) == ["ord-1"]
    again = a.lease("ord-1")
    assert first is not None
    assert again is not None
    assert again.token == first.token  # renewed by its holder: the same token
    threading.Event().wait(0.2)
    assert b.claim(["ord-1"], timedelta(seconds=30)) == ["ord-1"]
    taken = b.lease("ord-1")
    assert taken is not None
    assert taken.token > first.token
