"""The pipelined PostgreSQL unit of work: round trips per order, checks made on the server
before COMMIT, and the believed chain head refused (and the step re-hashed) when another
writer moved it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.audit import PostgresChain, verify_chain
from ordergate.store.base import StaleOrder

from .contract import seed
from .pg import fresh_schema, server_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def url() -> Iterator[str]:
    from ordergate.store.postgres import PostgresStore

    with fresh_schema(server_url()) as url:
        store = PostgresStore(url, min_size=1, max_size=2)
        store.migrate()
        store.close()
        yield url


def _store(url: str, size: int = 4) -> Any:
    from ordergate.store.postgres import PostgresStore

    return PostgresStore(url, min_size=1, max_size=size)


def _verified(url: str) -> int:
    """Walk the whole chain; the number of events in it."""
    with psycopg.connect(url, autocommit=True) as conn:
        result = verify_chain(PostgresChain(conn), derived=False)
        assert result.ok, result.problems
        return int(conn.execute("SELECT count(*) FROM order_events").fetchone()[0])


def _submit(engine: ExecutionEngine, key: str) -> None:
    report = engine.submit({"symbol": "AAPL", "side": "buy", "qty": "1", "key": key})
    assert report.status is OrderStatus.FILLED


def test_a_filled_market_order_takes_four_round_trips(url: str) -> None:
    """Accept (read; writes + events + COMMIT), receipt (read; writes + events + COMMIT)."""
    store = _store(url)
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "100")
    _submit(engine, "warm")  # the first step reads the chain's head
    before = store.round_trips
    for n in range(20):
        _submit(engine, f"k-{n}")
    assert (store.round_trips - before) / 20 == 4
    store.close()
    _verified(url)


def test_a_stale_update_is_refused_on_the_server_and_nothing_of_the_step_is_kept(
    url: str,
) -> None:
    store = _store(url)
    seed(store, 1)
    order = store.get_order("ord-1")
    assert order is not None
    with store.transaction() as tx:  # someone else moves the order on
        tx.update_order(replace(order, reason="first", version=order.version + 1), order.version)
    with pytest.raises(StaleOrder), store.transaction() as tx:  # noqa: PT012
        tx.save_mark(_mark())  # queued, and sent with the refused update and COMMIT
        tx.update_order(replace(order, reason="second", version=order.version + 1), order.version)
    after = store.get_order("ord-1")
    assert after is not None
    assert after.reason == "first"
    assert "ZZZ" not in store.marks()  # the queued mark went with the refused step
    store.close()


def _mark() -> Any:
    from datetime import UTC, datetime
    from decimal import Decimal

    from ordergate.domain.market import Mark

    return Mark(symbol="ZZZ", last=Decimal("1"), ts=datetime.now(UTC))


def test_two_stores_writing_one_chain_refuse_each_others_believed_heads(url: str) -> None:
    """Each store (a process) believes the head it wrote last; the other's writes make
    the server refuse that belief, and the step is hashed again after the real head."""
    one, two = _store(url), _store(url)
    engines = [ExecutionEngine(s, PaperBroker()) for s in (one, two)]
    for engine in engines:
        engine.mark("AAPL", "100")
    for n in range(10):
        _submit(engines[n % 2], f"k-{n}")
    assert one.chain_head.refused + two.chain_head.refused > 0
    one.close()
    two.close()
    assert _verified(url) >= 10 * 4


def test_threads_of_one_store_chain_one_after_another(url: str) -> None:
    store = _store(url, size=8)
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "100")
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for n in range(15):
                _submit(engine, f"t{t}-{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store.close()
    assert _verified(url) >= 6 * 15 * 4


def test_a_dropped_chain_head_is_read_again_under_the_lock(url: str) -> None:
    """A step that hashed and then failed leaves the belief unknown: the next step reads
    the head under the lock, and the one after believes again."""
    store = _store(url)
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "100")
    _submit(engine, "a")
    with store.chain_head.lock:
        store.chain_head.forget()
    before = store.round_trips
    _submit(engine, "b")  # its accept reads the head: one round trip more
    assert store.round_trips - before == 5
    with store.chain_head.lock:
        assert store.chain_head.believed()[0]
    store.close()
    _verified(url)


def _fenced(store: Any, ttl_s: float = 10.0) -> tuple[ExecutionEngine, Any]:
    from datetime import timedelta

    from ordergate.engine.ownership import Ownership
    from ordergate.store.leases import leases_for

    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "100")
    owner = Ownership(engine, leases_for(store, "p1"), timedelta(seconds=ttl_s))
    owner.heartbeat(force=True)  # the first beat: the fence's lease time is known
    return engine, owner


def test_a_fenced_order_is_leased_in_its_accept_and_sent_without_a_claim(url: str) -> None:
    """The claim rides in the accept's commit: the send takes only the in-flight mark (a
    statement that writes nothing) and lets it go after the answer."""
    store = _store(url)
    engine, owner = _fenced(store)
    session = owner.leases._session
    calls: list[str] = []
    one = session.one
    session.one = lambda sql, params: (calls.append(sql), one(sql, params))[1]
    _submit(engine, "f-1")
    assert len(calls) == 2
    assert "INSERT" not in calls[0]
    assert "pg_advisory_unlock" in calls[1]
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT owner FROM order_leases").fetchall()
    assert rows == [("p1",)]  # made in the accept (the heartbeat prunes it later)
    store.close()


def test_a_send_long_after_its_accept_counts_the_lease_from_the_accept(url: str) -> None:
    """A lease made in the accept runs from the accept: a send that starts later than the
    margin allows (half the lease) is refused, as a claim that took too long is; the
    fence then claims afresh (and looks the order up before it sends, as for any lease
    that came back)."""
    store = _store(url)
    engine, owner = _fenced(store, ttl_s=1.0)
    real_mark = owner.leases._mark_accepted

    def late(order_id: str, asked: float) -> Any:
        time.sleep(0.6)  # a long rate-limit queue between the accept and the send
        return real_mark(order_id, asked)

    owner.leases._mark_accepted = late
    answers: list[Any] = []
    real_begin = owner.begin_send
    owner.begin_send = lambda order_id: answers.append(real_begin(order_id)) or answers[-1]
    _submit(engine, "late")
    assert answers[0] is None  # 0.4 s of the lease left: less than the 0.5 s margin
    assert answers[-1] is not None  # claimed afresh (the fence looks it up before sending)
    store.close()
