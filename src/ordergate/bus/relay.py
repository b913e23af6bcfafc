"""The outbox relay: committed events, published beyond this process, at least once.

Every event is written to the outbox in the same transaction as the change it records.
The relay reads the outbox after its cursor (``outbox_after``), publishes each message,
and moves the cursor (``set_outbox_cursor``) only after the broker acknowledged it. A
relay that dies between the two publishes the same messages again on restart; every
message carries a stable id (``<store id>:<outbox id>``) so a broker that dedupes
(JetStream's ``Nats-Msg-Id``) drops the repeat. Hence: at least once from here,
exactly once in the stream.

The loop is asyncio (the NATS client is); store calls run in a worker thread so a slow
database never blocks the event loop. Which broker it publishes to is a
:class:`Publisher`, so the loop is the same for NATS and for a test double.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from ordergate.domain.errors import OrderGateError
from ordergate.resilience.crashpoint import crashpoint
from ordergate.store.base import OutboxMessage, Store

log = structlog.get_logger("ordergate.bus.relay")

#: The crash test's label: the messages are acknowledged, the cursor not yet moved.
CRASH_AFTER_PUBLISH = "relay_after_publish"


class PublishFailed(Exception):
    """The broker did not acknowledge a message; the relay retries from its cursor."""


class Publisher(Protocol):
    async def publish(self, message: OutboxMessage, msg_id: str) -> None:
        """Publish one message and return once the broker has acknowledged it; raise
        :class:`PublishFailed` when it did not."""
        ...


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

    def __init__(self, store: Store, publisher: Publisher, config: RelayConfig | None = None):
        self.store = store
        self.publisher = publisher
        self.config = config or RelayConfig()
        self.published = 0

    def msg_id(self, message: OutboxMessage) -> str:
        return f"{self.config.store_id}:{message.id}"

    async def pump(self) -> int:
        """One round: publish what waits after the cursor; return how many went out.

        Messages of a batch are published concurrently; the cursor then moves over the
        longest acknowledged prefix, so a failure in the middle never skips a message.
        """
        cursor = await asyncio.to_thread(self.store.outbox_cursor, self.config.consumer)
        messages = await asyncio.to_thread(self.store.outbox_after, cursor, self.config.batch)
        if not messages:
            return 0
        outcomes = await asyncio.gather(
            *(self.publisher.publish(m, self.msg_id(m)) for m in messages),
            return_exceptions=True,
        )
        done = _acknowledged_prefix(messages, outcomes)
        if done:
            crashpoint(CRASH_AFTER_PUBLISH)
            await asyncio.to_thread(self.store.set_outbox_cursor, self.config.consumer, done[-1].id)
            self.published += len(done)
        if len(done) < len(messages):
            failure = outcomes[len(done)]
            raise PublishFailed(f"message {messages[len(done)].id} not published: {failure}")
        return len(done)

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
