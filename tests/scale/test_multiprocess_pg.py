"""Several engine processes on one PostgreSQL database."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.base import OrderQuery
from ordergate.store.leases import leases_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
WORKER = str(Path(__file__).with_name("engine_worker.py"))


def worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_same_intents_make_one_order_per_key(pg_url: str) -> None:
    from ordergate.store.postgres import PostgresStore

    count = 150
    procs = [worker("submit", "--db", pg_url, "--count", str(count)) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
    lines = [json.loads(line) for out, _ in outputs for line in out.splitlines()]
    assert len(lines) == 2 * count
    by_key: dict[str, set[str]] = {}
    for line in lines:
        by_key.setdefault(line["key"], set()).add(line["order_id"])
    assert all(len(ids) == 1 for ids in by_key.values()), "one key, two orders"
    fresh = Counter(line["key"] for line in lines if not line["replayed"])
    assert set(fresh.values()) == {1}, "every key created exactly once"
    assert len(fresh) == count

    store = PostgresStore(pg_url)
    try:
        orders = store.list_orders(OrderQuery(limit=10 * count))
        assert len(orders) == count
        assert {o.status for o in orders} == {OrderStatus.FILLED}
        assert sum((p.qty for p in store.positions()), start=0) == count
    finally:
        store.close()


def test_a_killed_process_open_orders_are_taken_over(pg_url: str, tmp_path: Path) -> None:
    from ordergate.store.postgres import PostgresStore

    state = str(tmp_path / "paper.json")
    proc = worker(
        "rest",
        "--db",
        pg_url,
        "--count",
        "5",
        "--owner",
        "proc-a",
        "--state-file",
        state,
        "--ttl-ms",
        "800",
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("READY"), proc.stderr.read() if proc.stderr else first
    resting = sorted(json.loads(first.split(" ", 1)[1]))

    store = PostgresStore(pg_url)
    engine = ExecutionEngine(store, PaperBroker(state_file=state))
    mine = leases_for(store, "proc-b")
    try:
        time.sleep(1.0)  # several of A's heartbeats: its leases stay live
        assert mine.claim_orphans(timedelta(seconds=5)) == []
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

        deadline = time.monotonic() + 5
        taken: list[str] = []
        while time.monotonic() < deadline and len(taken) < len(resting):
            taken += mine.claim_orphans(timedelta(seconds=5))
            time.sleep(0.1)
        assert sorted(taken) == resting
        # B now tracks them: the market falls through the limit and B books the fills
        engine.mark("AAPL", "99.00")
        engine.sync_broker_state()
        orders = [store.get_order(order_id) for order_id in resting]
        assert [o.status if o else None for o in orders] == [OrderStatus.FILLED] * len(resting)
        assert len(store.list_orders(OrderQuery(limit=100))) == len(resting)
        assert mine.prune() == len(resting)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)  # reap it and close its pipes
        store.close()
