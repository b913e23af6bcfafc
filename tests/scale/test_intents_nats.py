"""Intents over JetStream: acknowledged only once persisted; bad ones answered, not retried."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.domain.errors import PersistenceError
from ordergate.domain.report import ExecutionReport
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.sqlite import SqliteStore

from .conftest import NatsServer

pytestmark = [pytest.mark.nats, pytest.mark.slow]


async def exchange(nats_url: str, submit: Any, intents: list[bytes]) -> list[dict[str, Any]]:
    from ordergate.bus.nats import IntentConsumer, NatsConfig, connect

    config = NatsConfig(url=nats_url)
    nc = await connect(config, attempts=5)
    answers: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def on_answer(msg: Any) -> None:
        answers.append(json.loads(msg.data))
        if len(answers) == len(intents):
            done.set()

    await nc.subscribe("test.answers", cb=on_answer)
    stop = asyncio.Event()
    consumer = IntentConsumer(nc, submit, config, retry_delay_s=0.2)
    task = asyncio.create_task(consumer.run(stop))
    js = nc.jetstream()
    await asyncio.sleep(0.3)  # the stream and the durable consumer exist
    for body in intents:
        await js.publish("ordergate.intents.submit", body, headers={"Reply-To": "test.answers"})
    await asyncio.wait_for(done.wait(), timeout=20)
    stop.set()
    await task
    info = await js.consumer_info("ORDERGATE", "ordergate-intents")
    assert info.num_ack_pending == 0
    assert info.num_pending == 0
    await nc.close()
    return answers


def test_intents_from_jetstream(nats_server: NatsServer) -> None:
    store = SqliteStore(":memory:")
    store.migrate()
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "150.00")
    calls: list[str] = []

    def flaky_submit(intent: Mapping[str, Any]) -> ExecutionReport:
        calls.append(str(intent.get("idempotency_key")))
        if intent.get("idempotency_key") == "k-flaky" and calls.count("k-flaky") == 1:
            raise PersistenceError("database restarting")
        return engine.submit(intent)

    good = {"symbol": "AAPL", "side": "buy", "qty": "3", "idempotency_key": "k-1"}
    intents = [
        json.dumps(good).encode(),
        json.dumps(good).encode(),  # the same intent again: the same order back
        json.dumps({**good, "qty": "-1", "idempotency_key": "k-bad"}).encode(),
        b"not json",
        json.dumps({**good, "idempotency_key": "k-flaky"}).encode(),
    ]
    answers = asyncio.run(exchange(nats_server.url, flaky_submit, intents))
    store.close()

    ok = [a for a in answers if a["ok"]]
    bad = [a for a in answers if not a["ok"]]
    assert len(ok) == 3
    assert len({a["report"]["order_id"] for a in ok}) == 2
    assert sorted(a["code"] for a in bad) == ["E_INTENT_INVALID", "E_INTENT_INVALID"]
    assert calls.count("k-flaky") == 2  # nak'ed once, redelivered, then persisted
    assert calls.count("k-bad") == 1  # terminated: never redelivered
