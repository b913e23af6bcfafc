"""The outbox relay: committed events, published beyond this process, at least once.

Every event is written to the outbox in the same transaction as the change it records.
The relay reads the outbox after its cursor (``outbox_after``), publishes each message,
and moves the cursor (``set_outbox_cursor``) only after the broker acknowledged it. A
relay that dies between the two publishes the same messages again on restart; every
message carries a stable id so a broker that dedupes (JetStream's ``Nats-Msg-Id``)
drops the repeat. Hence: at least once from here, exactly once in the stream.

A message id is ``<store id>:<incarnation>:<outbox id>:<digest>``. The incarnation is
made once in the database when its schema is created and travels with it (dump,
restore, replica), so a database dropped and created again under the same URL starts
new ids instead of repeating ones the stream still remembers (which it dropped in
silence: 0 of 776 new events). The digest of the message's topic and payload keeps two
different events apart even where the outbox ids repeat within one incarnation (a
restore from an older backup forks the history): only the very same event has the same
id. A store without an incarnation (SQLite) leaves that part out.

A duplicate acknowledgement is expected for a repeat (a relay restarted after a crash,
two relays racing on one cursor). The publisher compares the stream's message under
that id with ours: when they differ the id was *refused* for a new event, and the relay
says so loudly — an error log, the ``relay_ids_refused_total`` counter and an
``ops.relay.ids_refused`` event in the store's own log.

A partitioned chain (``store.chain``; a store with :class:`PartitionedOutbox`) is
relayed partition by partition, each with its own cursor — ``<consumer>`` for partition
0 (so a relay from before partitions carries on where it was), ``<consumer>#p<p>`` for
partition ``p`` — since ``seq`` is commit order only within a partition: every event
once, in order within its partition. The outbox id is the event's ``seq``, whose range
names its partition, so a message id is unique per (incarnation, partition, seq).

The loop is asyncio (the NATS client is); store calls run in a worker thread so a slow
database never blocks the event loop. Which broker it publishes to is a
:class:`Publisher`, so the loop is the same for NATS and for a test double.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Protocol, runtime_checkable

import structlog
from prometheus_client import CollectorRegistry, Counter

from ordergate.domain.errors import OrderGateError
from ordergate.domain.events import SCHEMA_VERSION
from ordergate.resilience.crashpoint import crashpoint
from ordergate.store.base import EventRecord, OutboxMessage, Store

log = structlog.get_logger("ordergate.bus.relay")

#: The crash test's label: the messages are acknowledged, the cursor not yet moved.
CRASH_AFTER_PUBLISH = "relay_after_publish"


class PublishFailed(Exception):
    """The broker did not acknowledge a message; the relay retries from its cursor."""


REFUSED_TOPIC = "ops.relay.ids_refused"


class Published(Enum):
    """What the broker's acknowledgement said about one message."""

    NEW = "new"
    #: a duplicate id, and the stream holds this very message: a harmless repeat
    REPEAT = "repeat"
    #: a duplicate id for a different message: the stream dropped a new event
    REFUSED = "refused"


class Publisher(Protocol):
    async def publish(self, message: OutboxMessage, msg_id: str) -> Published:
        """Publish one message and return once the broker has acknowledged it; raise
        :class:`PublishFailed` when it did not."""
        ...


@runtime_checkable
class Incarnated(Protocol):
    def incarnation(self) -> str | None:
        """The id this database was given when it was created (kept across restores)."""
        ...


@runtime_checkable
class PartitionedOutbox(Protocol):
    """A store whose event chain may be partitioned (``PostgresStore``)."""

    def event_partitions(self) -> list[int]:
        """The partitions that hold any event, ascending."""
        ...

    def outbox_in(self, partition: int, last_id: int, limit: int) -> list[OutboxMessage]:
        """The partition's messages after ``last_id``, in its commit order."""
        ...


def cursor_name(consumer: str, partition: int) -> str:
    """The cursor of ``consumer`` in ``partition`` (partition 0's is the consumer's own)."""
    return consumer if partition == 0 else f"{consumer}#p{partition}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayConfig:
    #: Names this relay's cursor; two relays with one name share the work's progress.
    consumer: str = "nats"
    #: The first part of every message id: which database the outbox ids belong to.
    store_id: str = "ordergate"
    #: Messages read and published per round.
    batch: int = 256
    #: Pause when the outbox is empty.
    idle_s: float = 0.05
    #: First and largest pause after a failure (doubling in between).
    backoff_s: float = 0.1
    max_backoff_s: float = 5.0


class OutboxRelay:
    """Moves one store's outbox to one publisher."""

    def __init__(
        self,
        store: Store,
        publisher: Publisher,
        config: RelayConfig | None = None,
        *,
        registry: CollectorRegistry | None = None,
    ):
        self.store = store
        self.publisher = publisher
        self.config = config or RelayConfig()
        self.published = 0
        self.repeats = 0
        self.refused = 0
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._refused_total = Counter(
            "relay_ids_refused_total",
            "Outbox messages whose id the broker already held for another message",
            registry=self.registry,
        )
        incarnation = store.incarnation() if isinstance(store, Incarnated) else None
        self._prefix = self.config.store_id + (f":{incarnation}" if incarnation else "")

    def msg_id(self, message: OutboxMessage) -> str:
        digest = hashlib.sha256(f"{message.topic}\x1f{message.payload}".encode()).hexdigest()
        return f"{self._prefix}:{message.id}:{digest[:16]}"

    async def pump(self) -> int:
        """One round: publish what waits after the cursor (of each partition, one after
        another); return how many went out.

        Messages of a batch are published concurrently; the cursor then moves over the
        longest acknowledged prefix, so a failure in the middle never skips a message.
        """
        store = self.store
        if not isinstance(store, PartitionedOutbox):
            return await self._pump(self.config.consumer, self.store.outbox_after)
        sent = 0
        for partition in await asyncio.to_thread(store.event_partitions):
            sent += await self._pump(
                cursor_name(self.config.consumer, partition),
                functools.partial(store.outbox_in, partition),
            )
        return sent

    async def _pump(self, consumer: str, read: Callable[[int, int], list[OutboxMessage]]) -> int:
        """One batch after ``consumer``'s cursor, read by ``read(cursor, limit)``."""
        cursor = await asyncio.to_thread(self.store.outbox_cursor, consumer)
        messages = await asyncio.to_thread(read, cursor, self.config.batch)
        if not messages:
            return 0
        outcomes = await asyncio.gather(
            *(self.publisher.publish(m, self.msg_id(m)) for m in messages),
            return_exceptions=True,
        )
        done = _acknowledged_prefix(messages, outcomes)
        refused = [m for m, o in zip(done, outcomes, strict=False) if o is Published.REFUSED]
        self.repeats += sum(1 for o in outcomes[: len(done)] if o is Published.REPEAT)
        if refused:
            await asyncio.to_thread(self._say_refused, refused)
        if done:
            crashpoint(CRASH_AFTER_PUBLISH)
            await asyncio.to_thread(self.store.set_outbox_cursor, consumer, done[-1].id)
            self.published += len(done)
        if len(done) < len(messages):
            failure = outcomes[len(done)]
            raise PublishFailed(f"message {messages[len(done)].id} not published: {failure}")
        return len(done)

    def _say_refused(self, refused: Sequence[OutboxMessage]) -> None:
        """Loudly: the stream dropped these events as duplicates of other messages."""
        self.refused += len(refused)
        self._refused_total.inc(len(refused))
        ids = [self.msg_id(m) for m in refused]
        log.error(
            "the broker refused new events as duplicates: their ids name other messages "
            "in the stream; these events did not reach it",
            count=len(refused),
            first=ids[0],
            outbox_ids=[m.id for m in refused][:20],
        )
        now = datetime.now(UTC)
        body = {
            "schema_version": SCHEMA_VERSION,
            "topic": REFUSED_TOPIC,
            "ts": now.isoformat(),
            "consumer": self.config.consumer,
            "count": len(refused),
            "outbox_ids": [m.id for m in refused][:100],
            "msg_ids": ids[:100],
        }
        record = EventRecord(None, REFUSED_TOPIC, None, None, json.dumps(body), now)
        with self.store.transaction() as tx:
            tx.record_events([record])

    async def run(self, stop: asyncio.Event) -> None:
        """Pump until ``stop`` is set, riding out broker and database outages."""
        backoff = self.config.backoff_s
        while not stop.is_set():
            try:
                count = await self.pump()
            except (PublishFailed, OrderGateError) as exc:
                log.warning("outbox relay round failed; retrying", error=str(exc), pause=backoff)
                await _wait(stop, backoff)
                backoff = min(backoff * 2, self.config.max_backoff_s)
                continue
            backoff = self.config.backoff_s
            if count == 0:
                await _wait(stop, self.config.idle_s)


def _acknowledged_prefix(
    messages: Sequence[OutboxMessage], outcomes: Sequence[object]
) -> list[OutboxMessage]:
    done: list[OutboxMessage] = []
    for message, outcome in zip(messages, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            break
        done.append(message)
    return done


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return
