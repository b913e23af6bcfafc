"""Ownership of open orders by several engines on one PostgreSQL database (issue 24):
the fence before every send, a heartbeat no tracking pass can delay, one paper broker
per database, and replays that answer what the send left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

import ordergate
from ordergate.brokers.base import BrokerOrder, OrderRequest
from ordergate.brokers.paper import PaperBroker
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ConfigError
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.ownership import Ownership
from ordergate.engine.tracking import OrderTracker, TrackingConfig
from ordergate.store.leases import leases_for

pytestmark = pytest.mark.postgres
WORKER = str(Path(__file__).with_name("engine_worker.py"))
T = TypeVar("T")


class SkewedClock:
    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class Venue(PaperBroker):
    """One venue both engines trade at; it counts every submit it is sent (it would
    open a second order for a repeated client order id at a venue that does not dedupe)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: Counter[str] = Counter()
        self._count = threading.Lock()

    def submit(self, request: OrderRequest) -> BrokerOrder:
        with self._count:
            self.sent[request.client_order_id] += 1
        return super().submit(request)


class Handle:
    """The engine side of a venue shared in this process: its own listeners."""

    def __init__(self, venue: Venue, *, slow_fetch_s: float = 0.0) -> None:
        self.venue = venue
        self.adapter_id = venue.adapter_id
        self.dedupes_client_order_id = False
        self.slow_fetch_s = slow_fetch_s

    def __getattr__(self, name: str) -> Any:
        return getattr(self.venue, name)

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        time.sleep(self.slow_fetch_s)
        return self.venue.fetch_order(client_order_id)


class Stalls:
    """A call policy whose first submit waits ``seconds`` before it is made (a long
    rate-limit queue, a GC pause, a host frozen by its hypervisor)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.stalled = False

    def call(self, operation: str, fn: Callable[[], T]) -> T:
        if operation == "submit" and not self.stalled:
            self.stalled = True
            time.sleep(self.seconds)
        return fn()


@pytest.fixture
def stores(pg_url: str) -> Iterator[Callable[[], Any]]:
    from ordergate.store.postgres import PostgresStore

    made: list[PostgresStore] = []

    def make() -> PostgresStore:
        store = PostgresStore(pg_url, min_size=1, max_size=4)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.mark.parametrize("offset_s", [0, -15, 15])
def test_a_process_that_lost_its_lease_does_not_send(
    stores: Callable[[], Any], offset_s: int
) -> None:
    """A commits an order, then stalls past its lease before the call; B takes the
    order over and sends it. When A wakes, the fence finds B's lease: A does not send,
    and answers B's outcome. Before the fence A sent it too: two orders at the venue.
    A's clock is ``offset_s`` off, which decides nothing: ownership is the database's."""
    ttl = timedelta(seconds=1)
    venue = Venue()
    host = SkewedClock(timedelta(seconds=offset_s))
    a = ExecutionEngine(stores(), Handle(venue), clock=host, call_policy=Stalls(2.0))
    b = ExecutionEngine(stores(), Handle(venue))
    own_a = Ownership(a, leases_for(a.store, "proc-a"), ttl)
    own_b = Ownership(b, leases_for(b.store, "proc-b"), ttl)
    done = threading.Event()

    def peer() -> None:  # B's heartbeat and takeover, in the caller's thread
        while not done.wait(0.1):
            own_b.heartbeat(force=True)

    beating = threading.Thread(target=peer)
    beating.start()
    try:
        a.mark("AAPL", "100")
        report = a.submit({"symbol": "AAPL", "side": "buy", "qty": "3", "key": "k-1"})
    finally:
        done.set()
        beating.join(10)
    assert dict(venue.sent) == {report.client_order_id: 1}
    assert report.status is OrderStatus.FILLED
    assert [p.qty for p in b.positions()] == [3]
    del own_a


def test_the_heartbeat_outlives_a_tracking_pass_longer_than_the_lease(
    stores: Callable[[], Any],
) -> None:
    """12 resting orders polled at 0.15 s each: a pass takes 1.8 s, twice the lease.
    The heartbeat ran inside the pass, so the leases lapsed under a healthy process and
    a peer took its orders; now it beats on its own thread."""
    ttl = timedelta(seconds=0.9)
    venue = Venue()
    engine = ExecutionEngine(stores(), Handle(venue, slow_fetch_s=0.15))
    own = Ownership(engine, leases_for(engine.store, "proc-a"), ttl)
    engine.mark("AAPL", "100")
    ids = [
        engine.submit(
            {"symbol": "AAPL", "side": "buy", "qty": "1", "order_type": "limit",
             "limit_price": "90", "time_in_force": "GTC", "key": f"rest-{i}"}
        ).order_id
        for i in range(12)
    ]  # fmt: skip
    own.heartbeat(force=True)
    tracker = OrderTracker(engine, TrackingConfig(poll_interval=0.01), ownership=own)
    peer = leases_for(stores(), "proc-b")
    taken: list[str] = []
    tracker.start()
    try:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            taken += peer.claim_orphans(ttl)
            time.sleep(0.1)
    finally:
        tracker.stop()
    assert taken == []
    assert len(ids) == 12


def test_a_second_process_on_the_in_process_paper_broker_is_refused(
    stores: Callable[[], Any],
) -> None:
    """A paper broker's orders live in its process: a second process on the same
    database could neither see nor cancel them (``cancel`` answered 200, nothing
    changed). The second is refused, saying why; the first one's exit frees the role."""
    first = ExecutionEngine(stores(), PaperBroker())
    leases = leases_for(first.store, "proc-a")
    Ownership(first, leases, timedelta(seconds=10))
    second = ExecutionEngine(stores(), PaperBroker())
    with pytest.raises(ConfigError) as info:
        Ownership(second, leases_for(second.store, "proc-b"), timedelta(seconds=10))
    assert "EXEC_BROKER_ADAPTER=exchange" in info.value.message
    leases.close()  # type: ignore[attr-defined]
    Ownership(second, leases_for(second.store, "proc-c"), timedelta(seconds=10))


def test_a_replay_sent_while_the_creator_is_sending_answers_its_outcome(
    pg_url: str, stores: Callable[[], Any]
) -> None:
    """Another process sends the same key while the creator's call is at the broker:
    the replay waits for the creator's answer to be recorded and answers it. Before,
    it answered the snapshot, SUBMITTED, while the creator said FILLED."""
    proc = subprocess.Popen(
        [sys.executable, WORKER, "slow", "--db", pg_url, "--delay-ms", "1500"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "SENDING", proc.stderr.read() if proc.stderr else line
        other = ExecutionEngine(stores(), PaperBroker())
        other.mark("AAPL", "150.00")
        replay = other.submit(
            {"symbol": "AAPL", "side": "buy", "qty": "1", "idempotency_key": "slow-0"}
        )
        created = json.loads(proc.stdout.readline())
    finally:
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert replay.replayed
    assert replay.order_id == created["order_id"]
    assert (replay.status.value, created["status"]) == ("FILLED", "FILLED")
    del out


def test_serve_refuses_a_second_process_on_the_paper_broker(pg_url: str, tmp_path: Path) -> None:
    """``ordergate serve`` twice on one PostgreSQL database with the in-process paper
    broker: the second exits with E_CONFIG_INVALID and says why and what to do."""
    from tests.serving import free_port, wait_until_serving

    def serve(port: int) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "ORDERGATE_DATABASE_URL": pg_url,
            "ORDERGATE_API_PORT": str(port),
            "ORDERGATE_API_TOKEN": "t" * 32,
            "ORDERGATE_EXEC_BROKER_ADAPTER": "paper",
            # this checkout's package, whatever the working directory
            "PYTHONPATH": str(Path(ordergate.__file__).resolve().parents[1]),
        }
        return subprocess.Popen(
            [sys.executable, "-m", "ordergate.cli", "serve"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    port = free_port()
    first = serve(port)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", first, timeout=30)
        second = serve(free_port())
        out, err = second.communicate(timeout=60)
        said = (out + err).decode()
        assert second.returncode == 2, said[-2000:]
        assert "E_CONFIG_INVALID" in said
        assert "paper broker" in said
        assert "EXEC_BROKER_ADAPTER=exchange" in said
    finally:
        first.terminate()
        first.communicate(timeout=30)
