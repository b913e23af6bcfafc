"""Several engines on one database: each follows the orders it owns; orphans move."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.ownership import Ownership
from ordergate.engine.tracking import OrderTracker, TrackingConfig
from ordergate.store.leases import leases_for
from ordergate.store.sqlite import SqliteStore

TTL = timedelta(seconds=0.3)


def engine_on(
    path: Path, broker: PaperBroker, clock: SimulatedClock, owner: str
) -> tuple[ExecutionEngine, Ownership]:
    store = SqliteStore(path, synchronous="NORMAL")
    store.migrate()
    engine = ExecutionEngine(store, broker, clock=clock)
    return engine, Ownership(engine, leases_for(store, owner), TTL)


def wall_clock() -> SimulatedClock:
    """Orders' times must be near the wall clock the leases use (the grace of new
    orders is measured against it)."""
    return SimulatedClock(datetime.now(UTC))


def test_a_dead_processs_orders_are_taken_over_once(tmp_path: Path) -> None:
    clock = wall_clock()
    broker = PaperBroker(clock=clock)  # one venue both engines trade at
    db = tmp_path / "shared.db"
    a, own_a = engine_on(db, broker, clock, "proc-a")
    b, own_b = engine_on(db, broker, clock, "proc-b")
    a.mark("AAPL", "100")
    report = a.submit(
        {"symbol": "AAPL", "side": "buy", "qty": "5", "order_type": "limit",
         "limit_price": "90", "time_in_force": "GTC", "key": "rest-1"}
    )  # fmt: skip
    assert report.status is OrderStatus.ACCEPTED
    assert own_a.owns(report.order_id)
    assert own_b.heartbeat(force=True) is None  # A is alive: nothing to take
    assert not own_b.owns(report.order_id)
    tracker_b = OrderTracker(b, TrackingConfig(poll_interval=0.05), ownership=own_b)
    assert tracker_b.tick().polled == 0  # B does not follow A's order

    time.sleep(TTL.total_seconds() * 1.5)  # A stops renewing: it died
    recovered = own_b.heartbeat(force=True)
    assert recovered is not None
    assert recovered.adopted == [report.order_id]
    assert own_b.owns(report.order_id)
    assert tracker_b.tick().polled == 1
    assert own_b.heartbeat(force=True) is None  # taken once, not again

    a.mark("AAPL", "89")  # the venue fills the order; B books it
    assert b.order(report.order_id).status is OrderStatus.FILLED
    own_b.heartbeat(force=True)
    assert not own_b.owns(report.order_id)  # released once it ended
    assert {p.symbol: p.qty for p in b.positions()} == {"AAPL": 5}


def test_orders_are_leased_before_they_are_sent_and_dropped_once_ended(tmp_path: Path) -> None:
    """The fence claims an order's lease right before the broker call (no send on a
    lease we may have lost); the heartbeat prunes the rows of orders that ended."""
    clock = wall_clock()
    engine, own = engine_on(tmp_path / "one.db", PaperBroker(clock=clock), clock, "proc-a")
    engine.mark("AAPL", "100")
    resting = engine.submit(
        {"symbol": "AAPL", "side": "buy", "qty": "5", "order_type": "limit",
         "limit_price": "90", "time_in_force": "GTC", "key": "rest-1"}
    )  # fmt: skip
    filled = engine.submit({"symbol": "AAPL", "side": "buy", "qty": "1", "key": "mkt-1"})
    assert filled.status is OrderStatus.FILLED
    assert own.owns(resting.order_id)
    assert not own.owns(filled.order_id)
    lease = own.leases.lease(resting.order_id)
    assert lease is not None
    assert lease.owner == "proc-a"

    own.heartbeat(force=True)
    assert own.leases.lease(filled.order_id) is None
    assert own.leases.lease(resting.order_id) is not None
    assert own.owns(resting.order_id)


def _commits(store: SqliteStore) -> list[str]:
    seen: list[str] = []
    store._conn.set_trace_callback(
        lambda sql: seen.append(sql) if sql.strip().upper().startswith("COMMIT") else None
    )
    return seen


def test_a_sends_claim_rides_the_receipts_commit_on_a_sqlite_file(tmp_path: Path) -> None:
    """The fence's claim before a send reads the order's status and takes the lease in
    one unit that is not waited for (a read of the order committed the open group, and
    the claim waited for a commit of its own)."""
    clock = wall_clock()
    engine, own = engine_on(tmp_path / "one.db", PaperBroker(clock=clock), clock, "proc-a")
    engine.mark("AAPL", "100")
    engine.submit({"symbol": "AAPL", "side": "buy", "qty": "1", "key": "warm"})
    commits = _commits(engine.store)  # type: ignore[arg-type]
    for i in range(20):
        side = "buy" if i % 2 else "sell"
        report = engine.submit({"symbol": "AAPL", "side": side, "qty": "1", "key": f"o{i}"})
        assert report.status is OrderStatus.FILLED
    # one commit an order: the accept's, which carries the last order's receipt (the
    # paper broker dedupes: a receipt may ride) and its claim; the previous code made two
    assert len(commits) <= 20, len(commits)
    lease = own.leases.lease(report.order_id)
    assert lease is None or lease.owner == "proc-a"  # released once filled, or still ours


def test_a_send_is_refused_for_an_order_another_process_holds(tmp_path: Path) -> None:
    clock = wall_clock()
    broker = PaperBroker(clock=clock)
    db = tmp_path / "shared.db"
    a, own_a = engine_on(db, broker, clock, "proc-a")
    _b, own_b = engine_on(db, broker, clock, "proc-b")
    a.mark("AAPL", "100")
    report = a.submit(
        {"symbol": "AAPL", "side": "buy", "qty": "5", "order_type": "limit",
         "limit_price": "90", "time_in_force": "GTC", "key": "rest-2"}
    )  # fmt: skip
    assert report.status is OrderStatus.ACCEPTED
    own_a.heartbeat(force=True)  # A's lease row written
    assert own_b.begin_send(report.order_id) is None  # A holds it, and it was answered
    assert own_b.leases.begin_send(report.order_id, TTL) is None  # type: ignore[attr-defined]
