"""The bus in (issue 24): two engine processes on one PostgreSQL database consume
``risk.decision`` (each message by one of them) and ``market.*`` (every mark by both);
each is acknowledged once persisted and takes effect once, also when a consumer dies
between persisting and acknowledging."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.domain.report import ExecutionReport
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.base import OrderQuery

from .conftest import NatsServer

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


class Killed(BaseException):
    """The engine process is gone (SIGKILL): nothing after this line runs."""


def engines(pg_url: str, n: int) -> list[ExecutionEngine]:
    from ordergate.store.postgres import PostgresStore

    made = []
    for _ in range(n):
        engine = ExecutionEngine(PostgresStore(pg_url, min_size=1, max_size=4), PaperBroker())
        engine.mark("AAPL", "150.00")
        made.append(engine)
    return made


async def settle(check: Callable[[], bool], timeout_s: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not settled in time"
        await asyncio.sleep(0.05)


def decision(i: int) -> bytes:
    intent = {"symbol": "AAPL", "side": "buy", "qty": "1"}
    if i % 3 == 0:  # the seed's shape: the allowed intent itself, with its key
        return json.dumps({**intent, "idempotency_key": f"d-{i}"}).encode()
    if i % 3 == 1:  # an envelope with a decision id and no key
        return json.dumps({"decision_id": f"dec-{i}", "allowed": True, "intent": intent}).encode()
    return json.dumps({"allowed": True, "intent": intent}).encode()  # neither


def test_decisions_once_by_one_process_and_marks_to_every_process(
    pg_url: str, nats_server: NatsServer
) -> None:
    from ordergate.bus.inbound import MarkConsumer, decision_consumer
    from ordergate.bus.nats import NatsConfig, connect

    a, b = engines(pg_url, 2)
    config = NatsConfig(url=nats_server.url)

    async def main() -> tuple[list[Any], list[Any]]:
        conns = [await connect(config, attempts=5) for _ in range(3)]
        stop = asyncio.Event()
        pairs = list(zip(conns, (a, b), strict=False))
        deciders = [decision_consumer(nc, e.submit, config) for nc, e in pairs]
        markers = [
            MarkConsumer(nc, e.mark, config, process=name)
            for nc, e, name in zip(conns, (a, b), ("host-a:1", "host-b:2"), strict=False)
        ]
        tasks = [asyncio.create_task(d.run(stop, batch=2)) for d in deciders]
        tasks += [asyncio.create_task(m.run(stop)) for m in markers]
        js = conns[2].jetstream()
        await asyncio.sleep(0.5)  # the consumers exist
        for i in range(30):
            await js.publish("ordergate.risk.decision", decision(i))
        await js.publish("ordergate.risk.decision", decision(3))  # sent twice: once in effect
        denied = {"decision_id": "no", "allowed": False, "intent": json.loads(decision(0))}
        await js.publish("ordergate.risk.decision", json.dumps(denied).encode())
        for last in ("151.00", "152.50"):
            await js.publish("ordergate.market.AAPL", json.dumps({"last": last}).encode())
        msft = {"last": "250", "bid": "249.9"}
        await js.publish("ordergate.market.MSFT", json.dumps(msft).encode())

        def done() -> bool:
            return sum(d.handled for d in deciders) == 32 and all(m.applied == 3 for m in markers)

        await settle(done)
        stop.set()
        await asyncio.gather(*tasks)
        for nc in conns:
            await nc.close()
        return deciders, markers

    deciders, _ = asyncio.run(main())
    orders = a.store.list_orders(OrderQuery(limit=1000))
    assert len(orders) == 30  # 31 allowed decisions, one of them twice; one denied
    assert all(d.handled > 0 for d in deciders)  # both processes took a share
    for engine in (a, b):
        assert engine.marks()["AAPL"].last == Decimal("152.50")
        assert engine.marks()["MSFT"].bid == Decimal("249.9")
    assert a.store.marks()["AAPL"].last == Decimal("152.50")
    for engine in (a, b):
        engine.store.close()


def test_a_decision_persisted_but_not_acknowledged_is_not_a_second_order(
    pg_url: str, nats_server: NatsServer
) -> None:
    """A process dies after the decision's order is persisted, before the ack: JetStream
    gives the message to the other process, whose submit finds the key: one order."""
    from ordergate.bus.inbound import decision_consumer
    from ordergate.bus.nats import NatsConfig, connect

    a, b = engines(pg_url, 2)
    config = NatsConfig(url=nats_server.url)

    async def main() -> tuple[int, list[ExecutionReport]]:
        nc_a, nc_b, nc_pub = [await connect(config, attempts=5) for _ in range(3)]
        died = asyncio.Event()

        def submit_then_die(intent: Mapping[str, Any]) -> ExecutionReport:
            a.submit(intent)  # persisted (and sent) ...
            died.set()
            raise Killed  # ... and the process is gone before it acknowledged

        answers: list[ExecutionReport] = []

        def submit_b(intent: Mapping[str, Any]) -> ExecutionReport:
            report = b.submit(intent)
            answers.append(report)
            return report

        stop_a, stop_b = asyncio.Event(), asyncio.Event()
        dying = decision_consumer(nc_a, submit_then_die, config, ack_wait_s=1.0)
        task_a = asyncio.create_task(dying.run(stop_a))
        await asyncio.sleep(0.5)
        await nc_pub.jetstream().publish("ordergate.risk.decision", decision(1))
        await asyncio.wait_for(died.wait(), 10)
        await asyncio.gather(task_a, return_exceptions=True)
        await nc_a.close()  # its connection goes with it
        survivor = decision_consumer(nc_b, submit_b, config, ack_wait_s=1.0)
        task_b = asyncio.create_task(survivor.run(stop_b))
        await settle(lambda: survivor.handled == 1)
        stop_b.set()
        await task_b
        await nc_b.close()
        await nc_pub.close()
        return survivor.handled, answers

    handled, answers = asyncio.run(main())
    assert handled == 1
    [report] = answers
    assert report.replayed
    assert len(a.store.list_orders(OrderQuery(limit=10))) == 1
    for engine in (a, b):
        engine.store.close()


def test_the_inbound_thread_a_serve_process_runs(pg_url: str, nats_server: NatsServer) -> None:
    from ordergate.bus.inbound import InboundThread
    from ordergate.bus.nats import NatsConfig, connect

    [engine] = engines(pg_url, 1)
    config = NatsConfig(url=nats_server.url)
    inbound = InboundThread(engine.submit, engine.mark, config, process="serve-1")
    inbound.start()

    async def publish() -> None:
        nc = await connect(config, attempts=5)
        js = nc.jetstream()
        await asyncio.sleep(0.5)
        await js.publish("ordergate.risk.decision", decision(0))
        await js.publish("ordergate.market.AAPL", json.dumps({"last": "149.00"}).encode())
        await nc.close()

    try:
        asyncio.run(publish())
        asyncio.run(settle(lambda: engine.marks()["AAPL"].last == Decimal("149.00")))
        asyncio.run(settle(lambda: len(engine.store.list_orders(OrderQuery(limit=5))) == 1))
    finally:
        inbound.stop()
        engine.store.close()
