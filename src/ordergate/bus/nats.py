"""NATS JetStream: the outbox relay's publisher, the intent consumer, ``events tail``.

Needs the ``nats`` extra (``pip install 'ordergate[nats]'``); nothing else in ordergate
imports this module. Subjects are the event topics under the configured prefix
(``ordergate.orders.filled``); one stream (``ORDERGATE``, subjects ``ordergate.>``)
keeps them, with a duplicate window in which a repeated ``Nats-Msg-Id`` is dropped —
which turns the relay's at-least-once into exactly-once in the stream.

The connection reconnects forever (a NATS restart is an outage, not an end); a publish
that fails meanwhile is reported to the relay, which retries from its cursor.

Intents arrive on ``<prefix>intents.submit``. Each is handed to ``submit`` (the
engine's, run in a worker thread) and acknowledged only after it returns — the intent
is persisted by then. The answer (the execution report, or the error with its code)
goes to the message's ``Reply-To`` header subject, else to ``<prefix>intents.results``.
A bad intent is answered and terminated (never redelivered); a store failure is
nak'ed, so JetStream redelivers it after a pause.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import nats
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NotFoundError
from nats.js.errors import Error as JsError

from ordergate.bus.relay import OutboxRelay, Published, PublishFailed, RelayConfig
from ordergate.domain.errors import ErrorCode, OrderGateError, PersistenceError
from ordergate.domain.report import ExecutionReport
from ordergate.store.base import OutboxMessage, Store

log = structlog.get_logger("ordergate.bus.nats")

INTENT_SUBJECT = "intents.submit"
RESULT_SUBJECT = "intents.results"
REPLY_HEADER = "Reply-To"


@dataclass(frozen=True, slots=True, kw_only=True)
class NatsConfig:
    url: str = "nats://127.0.0.1:4222"
    #: Subject prefix: the event topic prefix (``ordergate.``).
    prefix: str = "ordergate."
    stream: str = "ORDERGATE"
    #: How long JetStream remembers a message id: a relay down for longer than this
    #: may publish a message twice after it restarts.
    duplicate_window_s: float = 600.0
    #: How long to wait for a publish acknowledgement.
    ack_timeout_s: float = 5.0
    connect_timeout_s: float = 2.0
    reconnect_wait_s: float = 0.5
    name: str = "ordergate"


async def connect(config: NatsConfig, *, attempts: int = 0) -> Client:
    """Connect, trying again until it works (``attempts=0``: forever); reconnects forever.

    Each attempt is bounded here: with reconnects unbounded, nats-py's first connect
    keeps trying a server that is down and never returns (``events tail`` against no
    server waited forever, deaf to SIGTERM)."""
    tried = 0
    while True:
        tried += 1
        try:
            return await asyncio.wait_for(
                nats.connect(
                    servers=[config.url],
                    name=config.name,
                    connect_timeout=config.connect_timeout_s,
                    reconnect_time_wait=config.reconnect_wait_s,
                    max_reconnect_attempts=-1,
                    allow_reconnect=True,
                    error_cb=_log_error,
                ),
                timeout=config.connect_timeout_s + 1.0,
            )
        except (NatsError, OSError, TimeoutError) as exc:
            if attempts and tried >= attempts:
                why = str(exc) or f"no answer in {config.connect_timeout_s + 1.0:g} s"
                raise ConnectionError(f"cannot reach NATS at {config.url}: {why}") from exc
            log.warning("NATS not reachable; retrying", url=config.url, error=str(exc))
            await asyncio.sleep(config.reconnect_wait_s)


async def _log_error(exc: Exception) -> None:
    log.warning("NATS connection problem", error=str(exc))


async def ensure_stream(js: JetStreamContext, config: NatsConfig) -> None:
    """Create the stream if it is missing (idempotent; safe from several processes)."""
    try:
        await js.stream_info(config.stream)
        return
    except NotFoundError:
        pass
    try:
        await js.add_stream(
            StreamConfig(
                name=config.stream,
                subjects=[f"{config.prefix}>"],
                duplicate_window=config.duplicate_window_s,
            )
        )
    except BadRequestError:
        # another process (or consumer) created it between our look-up and our add: the
        # server then refuses ours as overlapping; the stream is there, which is the point
        await js.stream_info(config.stream)


class JetStreamPublisher:
    """The relay's :class:`~ordergate.bus.relay.Publisher` for JetStream."""

    def __init__(self, js: JetStreamContext, config: NatsConfig) -> None:
        self._js = js
        self._config = config
        self.duplicates = 0

    async def publish(self, message: OutboxMessage, msg_id: str) -> Published:
        headers = {"Nats-Msg-Id": msg_id}
        if message.key:
            headers["Ordergate-Key"] = message.key
        data = message.payload.encode()
        subject = self._config.prefix + message.topic
        try:
            ack = await self._js.publish(
                subject,
                data,
                timeout=self._config.ack_timeout_s,
                stream=self._config.stream,
                headers=headers,
            )
        except (NatsError, JsError, OSError) as exc:
            raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc
        if not ack.duplicate:
            return Published.NEW
        self.duplicates += 1
        return await self._compare(ack.seq, subject, data)

    async def _compare(self, seq: int, subject: str, data: bytes) -> Published:
        """A duplicate ack: the stream's message under the id is ours, or another's."""
        try:
            held = await self._js.get_msg(self._config.stream, seq)
        except (NatsError, JsError, OSError) as exc:
            log.warning("cannot read the message a duplicate id names", seq=seq, error=str(exc))
            return Published.REFUSED  # unknown: say so rather than drop an event in silence
        same = held.subject == subject and held.data == data
        return Published.REPEAT if same else Published.REFUSED


async def relay_to_jetstream(
    store: Store,
    config: NatsConfig,
    stop: asyncio.Event,
    relay_config: RelayConfig | None = None,
) -> OutboxRelay:
    """Run the outbox relay of ``store`` into the stream until ``stop`` is set."""
    nc = await connect(config)
    try:
        js = nc.jetstream(timeout=config.ack_timeout_s)
        while True:
            try:
                await ensure_stream(js, config)
                break
            except (NatsError, JsError) as exc:
                log.warning("stream not ready; retrying", error=str(exc))
                await asyncio.sleep(config.reconnect_wait_s)
        relay = OutboxRelay(store, JetStreamPublisher(js, config), relay_config)
        await relay.run(stop)
        return relay
    finally:
        await nc.close()


# ------------------------------------------------------------------ pulling


async def pull(
    js: JetStreamContext,
    config: NatsConfig,
    subject: str,
    *,
    durable: str,
    consumer: ConsumerConfig,
    handle: Callable[[Msg], Awaitable[None]],
    stop: asyncio.Event,
    batch: int,
    retry_delay_s: float,
) -> None:
    """The one pull loop of every consumer here: ``handle`` each message of the durable
    consumer ``durable`` on ``<prefix><subject>``, in the order fetched, until ``stop``.

    ``handle`` acknowledges (or naks, or terminates) each message itself, after what it
    carries is persisted; a fetch that finds nothing, or fails, is tried again.
    """
    await ensure_stream(js, config)
    sub = await js.pull_subscribe(
        config.prefix + subject, durable=durable, stream=config.stream, config=consumer
    )
    while not stop.is_set():
        try:
            messages = await sub.fetch(batch, timeout=0.5)
        except (TimeoutError, NatsTimeout):  # fetch raises either on an idle round
            continue
        except (NatsError, JsError) as exc:
            log.warning("fetch failed; retrying", subject=subject, error=str(exc))
            await asyncio.sleep(retry_delay_s)
            continue
        for msg in messages:
            await handle(msg)


# ------------------------------------------------------------------ intents

SubmitFn = Callable[[Mapping[str, Any]], ExecutionReport]
#: What a message carries to ``submit``: the intent, or None to acknowledge and drop it.
PrepareFn = Callable[[dict[str, Any], Msg], dict[str, Any] | None]


class IntentConsumer:
    """Intents from a durable JetStream consumer into ``submit``; see the module doc."""

    def __init__(
        self,
        nc: Client,
        submit: SubmitFn,
        config: NatsConfig,
        *,
        durable: str = "ordergate-intents",
        retry_delay_s: float = 1.0,
        max_deliver: int = 50,
        subject: str = INTENT_SUBJECT,
        prepare: PrepareFn | None = None,
        ack_wait_s: float = 60.0,
    ) -> None:
        self._nc = nc
        self._js = nc.jetstream(timeout=config.ack_timeout_s)
        self._submit = submit
        self._config = config
        self._durable = durable
        self._retry_delay_s = retry_delay_s
        self._max_deliver = max_deliver
        self._subject = subject
        self._prepare = prepare
        self._ack_wait_s = ack_wait_s
        self.handled = 0

    async def run(self, stop: asyncio.Event, batch: int = 16) -> None:
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT, ack_wait=self._ack_wait_s, max_deliver=self._max_deliver
        )
        await pull(
            self._js,
            self._config,
            self._subject,
            durable=self._durable,
            consumer=config,
            handle=self.handle,
            stop=stop,
            batch=batch,
            retry_delay_s=self._retry_delay_s,
        )

    async def handle(self, msg: Msg) -> None:
        """Submit one intent; ack, term or nak it by the outcome."""
        try:
            data = json.loads(msg.data)
            if not isinstance(data, dict):
                raise ValueError("an intent must be a JSON object")
            intent = data if self._prepare is None else self._prepare(data, msg)
        except (ValueError, OrderGateError) as exc:
            await self._answer(msg, {"ok": False, "code": "E_INTENT_INVALID", "message": str(exc)})
            await msg.term()
            return
        if intent is None:  # nothing to submit (a decision that did not allow it)
            await msg.ack_sync()
            self.handled += 1
            return
        data = intent
        try:
            report = await asyncio.to_thread(self._submit, data)
        except PersistenceError as exc:
            log.warning("intent not persisted; redelivery later", error=str(exc))
            await msg.nak(delay=self._retry_delay_s)
            return
        except OrderGateError as exc:
            await self._answer(msg, {"ok": False, **exc.to_dict()})
            await msg.term()
            self.handled += 1
            return
        except Exception as exc:  # a bug below: do not lose the intent, do not spin on it
            log.exception("intent submit raised")
            code = ErrorCode.E_EXEC_PERSISTENCE.name
            await self._answer(msg, {"ok": False, "code": code, "message": str(exc)})
            await msg.nak(delay=self._retry_delay_s)
            return
        await msg.ack_sync()
        await self._answer(msg, {"ok": True, "report": report.to_dict()})
        self.handled += 1

    async def _answer(self, msg: Msg, body: dict[str, Any]) -> None:
        subject = (msg.headers or {}).get(REPLY_HEADER) or self._config.prefix + RESULT_SUBJECT
        try:
            await self._nc.publish(subject, json.dumps(body, default=str).encode())
        except NatsError as exc:
            log.warning("intent answer not sent", subject=subject, error=str(exc))


# --------------------------------------------------------------------- tail


async def tail(
    config: NatsConfig,
    on_message: Callable[[str, Any], Awaitable[None] | None],
    *,
    subject: str | None = None,
    from_start: bool = False,
    count: int = 0,
    stop: asyncio.Event | None = None,
) -> int:
    """Call ``on_message(subject, payload)`` for each event until ``count`` arrived (0:
    until ``stop``). An ordered consumer: no state left on the server."""
    nc = await connect(config, attempts=3)
    seen = 0
    try:
        js = nc.jetstream(timeout=config.ack_timeout_s)
        await ensure_stream(js, config)
        policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
        sub = await js.subscribe(
            subject or f"{config.prefix}>",
            stream=config.stream,
            ordered_consumer=True,
            deliver_policy=policy,
        )
        stop = stop or asyncio.Event()
        while not stop.is_set() and (count == 0 or seen < count):
            try:
                msg = await sub.next_msg(timeout=0.5)
            except (TimeoutError, NatsTimeout):  # fetch raises either
                continue
            try:
                payload: Any = json.loads(msg.data)
            except ValueError:
                payload = msg.data.decode(errors="replace")
            result = on_message(msg.subject, payload)
            if result is not None:
                await result
            seen += 1
    finally:
        await nc.close()
    return seen
