"""The outbox relay on a partitioned chain against a real JetStream, killed mid-stream.

Orders of accounts in three partitions are committed interleaved; the relay SIGKILLs
itself after a batch was acknowledged but before its cursor moved, more orders are
committed, and a successor relays the rest: every event must be in the stream exactly
once, and in ``seq`` (commit) order within its partition.
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.bus.relay import OutboxRelay, RelayConfig, cursor_name
from ordergate.engine.engine import ExecutionEngine
from ordergate.resilience.crashpoint import CRASH_AT_ENV, CRASH_SKIP_ENV
from ordergate.store.chain import SPAN

from .conftest import NatsServer
from .test_partitions_pg import account_in
from .test_relay_nats import STORE_ID, NoPublisher, relay, stream_ids

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]


def submit(engine: ExecutionEngine, start: int, count: int) -> None:
    for i in range(start, start + count):
        report = engine.submit(
            {
                "symbol": "AAPL",
                "side": "buy",
                "qty": "1",
                "account_id": account_in(i % 3),
                "idempotency_key": f"k{i}",
            }
        )
        assert report.status.value == "FILLED", report


def test_relay_killed_on_a_partitioned_chain_every_event_once_in_partition_order(
    pg_url: str, nats_server: NatsServer
) -> None:
    from ordergate.store.postgres import PostgresStore

    store = PostgresStore(pg_url)
    store.set_chain_partitions(3)
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "150.00")
    second = None
    try:
        submit(engine, 0, 45)  # 60 events in each partition
        assert store.event_partitions() == [0, 1, 2]
        first = relay(
            pg_url, nats_server.url, **{CRASH_AT_ENV: "relay_after_publish", CRASH_SKIP_ENV: "2"}
        )
        _, err = first.communicate(timeout=60)
        assert first.returncode == -signal.SIGKILL, err.decode()[-2000:]
        cursors = {p: store.outbox_cursor(cursor_name("nats", p)) for p in (0, 1, 2)}
        assert cursors[0] > 0  # partition 0's first batch moved its cursor
        submit(engine, 45, 15)  # committed while no relay runs
        second = relay(pg_url, nats_server.url)
        namer = OutboxRelay(store, NoPublisher(), RelayConfig(store_id=STORE_ID))
        outbox = store.outbox_after(0, 10_000)
        assert len(outbox) == 60 * 4
        expected = {namer.msg_id(m): m.id for m in outbox}
        deadline = time.monotonic() + 30
        while True:
            count, ids = asyncio.run(stream_ids(nats_server.url))
            if len(ids) >= len(expected) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert count == len(ids) == len(expected)
        assert sorted(ids) == sorted(expected)  # each event once
        for partition in (0, 1, 2):
            seqs = [expected[i] for i in ids if expected[i] // SPAN == partition]
            assert seqs == sorted(seqs)  # in commit order within its partition
            assert len(seqs) == 80
        while store.outbox_cursor(cursor_name("nats", 2)) < outbox[-1].id:
            assert time.monotonic() < deadline + 10, "the cursor did not catch up"
            time.sleep(0.1)
    finally:
        if second is not None:
            second.send_signal(signal.SIGTERM)
            _, err = second.communicate(timeout=30)
        store.close()
    assert second is not None
    assert second.returncode == 0, err.decode()[-2000:]
