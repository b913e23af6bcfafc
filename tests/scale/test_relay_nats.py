"""The outbox relay against a real JetStream: killed mid-round, NATS restarted.

The relay runs as a subprocess and SIGKILLs itself after a batch was acknowledged by
JetStream but before its cursor moved (``ORDERGATE_CRASH_AT=relay_after_publish``);
NATS is stopped while events keep being committed, the successor starts while it is
down, and NATS comes back: the relay connects, republishes the unmarked batch (dropped
as duplicates by the restarted server) and catches up. Every event must be in the
stream exactly once, in outbox order.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.bus.relay import OutboxRelay, Published, RelayConfig
from ordergate.engine.engine import ExecutionEngine
from ordergate.resilience.crashpoint import CRASH_AT_ENV, CRASH_SKIP_ENV
from ordergate.store.base import OutboxMessage

from .conftest import NatsServer

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]
STORE_ID = "relaytest"


class NoPublisher:
    async def publish(self, message: OutboxMessage, msg_id: str) -> Published:
        raise AssertionError("only names messages")


def relay(pg_url: str, nats_url: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ordergate.cli",
            "events",
            "relay",
            "--db",
            pg_url,
            "--nats",
            nats_url,
            "--store-id",
            STORE_ID,
            "--batch",
            "40",
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def submit(engine: ExecutionEngine, start: int, count: int) -> None:
    for i in range(start, start + count):
        engine.submit({"symbol": "AAPL", "side": "buy", "qty": "1", "idempotency_key": f"k{i}"})


async def stream_ids(nats_url: str) -> tuple[int, list[str]]:
    """The stream's message count and every message's Nats-Msg-Id, in stream order."""
    from ordergate.bus.nats import NatsConfig, connect

    nc = await connect(NatsConfig(url=nats_url), attempts=20)
    try:
        js = nc.jetstream()
        info = await js.stream_info("ORDERGATE")
        ids = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg("ORDERGATE", seq)
            ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))
        return info.state.messages, ids
    finally:
        await nc.close()


def wait_for(nats_url: str, expected: list[str], timeout_s: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout_s
    ids: list[str] = []
    while time.monotonic() < deadline:
        _, ids = asyncio.run(stream_ids(nats_url))
        if len(ids) >= len(expected):
            return ids
        time.sleep(0.2)
    return ids


def test_relay_killed_and_nats_restarted_every_event_once(
    pg_url: str, nats_server: NatsServer
) -> None:
    from ordergate.store.postgres import PostgresStore

    store = PostgresStore(pg_url)
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "150.00")
    second: subprocess.Popen[bytes] | None = None
    try:
        submit(engine, 0, 30)
        first = relay(
            pg_url, nats_server.url, **{CRASH_AT_ENV: "relay_after_publish", CRASH_SKIP_ENV: "1"}
        )
        _, err = first.communicate(timeout=60)
        assert first.returncode == -signal.SIGKILL, err.decode()[-2000:]
        cursor = store.outbox_cursor("nats")
        assert cursor > 0  # the first round moved it; the second was published, not marked
        published_once = [m.id for m in store.outbox_after(0, 10_000)]
        assert len(published_once) > 80 > len([i for i in published_once if i <= cursor])

        nats_server.stop()
        submit(engine, 30, 10)  # committed while NATS is down
        second = relay(pg_url, nats_server.url)  # starts while NATS is down: keeps trying
        time.sleep(1.5)
        nats_server.start()  # same port and store dir: the stream and its msg ids survive
        namer = OutboxRelay(store, NoPublisher(), RelayConfig(store_id=STORE_ID))
        outbox = store.outbox_after(0, 10_000)
        expected = [namer.msg_id(m) for m in outbox]
        assert all(i.startswith(f"{STORE_ID}:{store.incarnation()}:") for i in expected)
        ids = wait_for(nats_server.url, expected)
        assert ids == expected  # each once, in outbox order
        count, _ = asyncio.run(stream_ids(nats_server.url))
        assert count == len(expected)
        deadline = time.monotonic() + 10
        while store.outbox_cursor("nats") < outbox[-1].id:
            assert time.monotonic() < deadline, "the cursor did not catch up"
            time.sleep(0.1)
    finally:
        if second is not None:
            second.send_signal(signal.SIGTERM)
            _, err = second.communicate(timeout=30)
        store.close()
    assert second.returncode == 0, err.decode()[-2000:]
