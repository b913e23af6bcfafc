"""The relay and a database created again under the same URL (issue 24, defect 4).

JetStream drops a message whose ``Nats-Msg-Id`` it saw within its duplicate window. Ids
were ``<store id>:<outbox id>``, the store id derived from the URL: after a drop and
re-create under one URL every new event repeated an old id, and 0 of 776 reached the
stream, in silence. Ids now carry the database's incarnation and the message's digest;
a relay whose ids are refused all the same says so (log, metric, event).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.bus.relay import REFUSED_TOPIC, OutboxRelay, RelayConfig
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.base import OutboxMessage

from .conftest import PG_URL, NatsServer

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
SCHEMA = "og_relay_incarnation"


@pytest.fixture
def schema_url() -> Iterator[str]:
    """One URL for a schema that the test drops and creates again."""
    psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    from urllib.parse import quote

    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL}: {exc}".splitlines()[0])
    name = f"{SCHEMA}_{uuid.uuid4().hex[:8]}"
    yield f"{PG_URL}?options={quote(f'-csearch_path={name}')}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def create(url: str) -> Any:
    import psycopg

    from ordergate.store.postgres import PostgresStore

    name = url.rsplit("search_path%3D", 1)[1]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.execute(f"CREATE SCHEMA {name}")
    store = PostgresStore(url)
    store.migrate()
    return store


def trade(store: Any, count: int) -> int:
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "150.00")
    for i in range(count):
        engine.submit({"symbol": "AAPL", "side": "buy", "qty": "1", "key": f"k{i}"})
    return len(store.outbox_after(0, 100_000))


async def relay_all(store: Any, nats_url: str, relay_type: type[OutboxRelay] = OutboxRelay) -> Any:
    from ordergate.bus.nats import JetStreamPublisher, NatsConfig, connect, ensure_stream

    config = NatsConfig(url=nats_url)
    nc = await connect(config, attempts=20)
    try:
        js = nc.jetstream()
        await ensure_stream(js, config)
        relay = relay_type(store, JetStreamPublisher(js, config), RelayConfig(store_id="same-url"))
        while await relay.pump():
            pass
        count = (await js.stream_info(config.stream)).state.messages
        return relay, count
    finally:
        await nc.close()


def test_a_recreated_database_s_events_all_reach_the_stream(
    schema_url: str, nats_server: NatsServer
) -> None:
    first = create(schema_url)
    try:
        made = trade(first, 10)
        relay, in_stream = asyncio.run(relay_all(first, nats_server.url))
        assert (relay.published, in_stream) == (made, made)
        old = first.incarnation()
    finally:
        first.close()

    second = create(schema_url)  # dropped and created again: the same URL, outbox ids from 1
    try:
        assert second.incarnation() != old
        again = trade(second, 10)
        relay, in_stream = asyncio.run(relay_all(second, nats_server.url))
    finally:
        second.close()
    assert in_stream == made + again
    assert relay.repeats == 0
    assert relay.refused == 0


class UrlIds(OutboxRelay):
    """The ids as they were: the URL's name and the outbox id, nothing else."""

    def msg_id(self, message: OutboxMessage) -> str:
        return f"{self.config.store_id}:{message.id}"


def test_a_relay_whose_ids_are_refused_says_so(schema_url: str, nats_server: NatsServer) -> None:
    first = create(schema_url)
    try:
        trade(first, 3)
        asyncio.run(relay_all(first, nats_server.url, UrlIds))
    finally:
        first.close()
    second = create(schema_url)
    try:
        made = trade(second, 3)
        relay, _ = asyncio.run(relay_all(second, nats_server.url, UrlIds))
        topics = [m.topic for m in second.outbox_after(0, 100_000)]
    finally:
        second.close()
    assert relay.published >= made  # every one acknowledged, yet none reached the stream
    assert relay.refused == made
    assert relay.registry.get_sample_value("relay_ids_refused_total") == made
    assert REFUSED_TOPIC in topics


def test_a_repeat_after_a_crash_is_no_refusal(schema_url: str, nats_server: NatsServer) -> None:
    """The relay's own republish (cursor not moved before a crash) is a repeat."""
    store = create(schema_url)
    try:
        made = trade(store, 3)
        asyncio.run(relay_all(store, nats_server.url))
        with store.connection() as conn:
            conn.execute("UPDATE outbox_cursors SET last_id = 0")
        relay, in_stream = asyncio.run(relay_all(store, nats_server.url))
    finally:
        store.close()
    assert (relay.repeats, relay.refused, in_stream) == (made, 0, made)
