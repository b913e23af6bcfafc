"""The bus in: risk decisions and market marks from JetStream into an engine process.

Seed 000's engine consumes ``risk.decision`` (allowed intents) and ``market.*`` besides
emitting events. With several engine processes on one database:

- **``risk.decision``: one engine process per message.** Every process pulls from one
  durable consumer (``ordergate-risk-decisions``), so JetStream hands each message to
  one of them. A decision is acknowledged only after ``submit`` returned — the intent
  is persisted by then — and a store failure is nak'ed for redelivery. A message
  delivered twice (a process died between persisting and acknowledging; a publisher
  sent it twice under two message ids) takes effect once: the store's idempotency key
  answers the second with the first's order. A decision without a key of its own gets
  one from its ``decision_id``, else from its stream sequence, so a redelivery carries
  the same key.
- **``market.<symbol>``: every process.** Each process has a consumer of its own
  (named after the process, ``--process``; dropped by the server once idle for
  ``inactive_s``), that starts from the last mark of each symbol and, on a restart
  under the same name, resumes where it stopped. A mark is acknowledged after ``mark``
  returned (the mark is in the store). Each mark carries its stream sequence number
  (:attr:`~ordergate.domain.market.Mark.seq`): the engine and the store apply it only
  over an older one, so a redelivery, a late copy or another process's slower write
  never takes a price back — per process and in the shared store alike.

A decision is an allowed intent (the seed's shape), or an envelope
``{"decision_id", "allowed", "intent": {...}}``; ``allowed: false`` is acknowledged and
nothing is submitted.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ordergate.bus.nats import IntentConsumer, NatsConfig, SubmitFn, pull
from ordergate.domain.errors import InvalidIntent, OrderGateError, PersistenceError
from ordergate.domain.market import Mark

log = structlog.get_logger("ordergate.bus.inbound")

DECISION_SUBJECT = "risk.decision"
MARKET_SUBJECT = "market."
#: ``engine.mark``: ``mark(symbol, last=…, bid=…, ask=…, volume=…, seq=…)`` → the mark in
#: effect afterwards (the given one, or a newer one already in effect)
MarkFn = Callable[..., Mark]


def decision_intent(data: dict[str, Any], msg: Msg) -> dict[str, Any] | None:
    """The intent a decision allows, with a key that a redelivery repeats; None when
    the decision did not allow it."""
    envelope = "intent" in data
    if envelope and data.get("allowed", True) is False:
        log.info("risk decision did not allow the intent", decision_id=data.get("decision_id"))
        return None
    intent = data["intent"] if envelope else data
    if not isinstance(intent, dict):
        raise InvalidIntent("intent", "a decision's intent must be a JSON object")
    intent = dict(intent)
    decision_id = data.get("decision_id") if envelope else None
    if decision_id and not intent.get("decision_id"):
        intent["decision_id"] = decision_id
    if not (intent.get("idempotency_key") or intent.get("key")):
        decision_id = decision_id or intent.get("decision_id")
        if decision_id:
            intent["idempotency_key"] = f"risk-{decision_id}"
        else:  # the stream's sequence: the same for every delivery of this message
            meta = msg.metadata
            intent["idempotency_key"] = f"risk-{meta.stream}-{meta.sequence.stream}"
    return intent


def decision_consumer(nc: Client, submit: SubmitFn, config: NatsConfig, **kwargs: Any) -> Any:
    """The consumer every engine process shares: each decision goes to one of them."""
    kwargs.setdefault("durable", "ordergate-risk-decisions")
    return IntentConsumer(
        nc, submit, config, subject=DECISION_SUBJECT, prepare=decision_intent, **kwargs
    )


class MarkConsumer:
    """Every mark to this process's engine, acknowledged once it is in the store."""

    def __init__(
        self,
        nc: Client,
        mark: MarkFn,
        config: NatsConfig,
        *,
        process: str,
        inactive_s: float = 60.0,
        retry_delay_s: float = 1.0,
        ack_wait_s: float = 30.0,
    ) -> None:
        self._js = nc.jetstream(timeout=config.ack_timeout_s)
        self._mark = mark
        self._config = config
        self.durable = "ordergate-marks-" + re.sub(r"[^A-Za-z0-9_-]", "-", process)
        self._inactive_s = inactive_s
        self._retry_delay_s = retry_delay_s
        self._ack_wait_s = ack_wait_s
        self.applied = 0
        self.skipped = 0

    async def run(self, stop: asyncio.Event, batch: int = 64) -> None:
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait_s,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
            inactive_threshold=self._inactive_s,
        )
        await pull(
            self._js,
            self._config,
            MARKET_SUBJECT + ">",
            durable=self.durable,
            consumer=config,
            handle=self.handle,
            stop=stop,
            batch=batch,
            retry_delay_s=self._retry_delay_s,
        )

    async def handle(self, msg: Msg) -> None:
        try:
            data = json.loads(msg.data)
            if not isinstance(data, Mapping):
                raise ValueError("a mark must be a JSON object")
            symbol = str(data.get("symbol") or msg.subject.rsplit(".", 1)[-1]).upper()
        except ValueError as exc:
            log.warning("mark not readable; dropped", subject=msg.subject, error=str(exc))
            await msg.term()
            return
        seq = msg.metadata.sequence.stream
        fields = {k: data.get(k) for k in ("last", "bid", "ask", "volume") if k in data}
        if "last" not in fields:
            fields["last"] = data.get("ltp", data.get("price"))
        try:
            in_effect = await asyncio.to_thread(self._mark, symbol, seq=seq, **fields)
        except PersistenceError as exc:
            log.warning("mark not persisted; redelivery later", symbol=symbol, error=str(exc))
            await msg.nak(delay=self._retry_delay_s)
            return
        except OrderGateError as exc:
            log.warning("mark refused; dropped", symbol=symbol, error=exc.message)
            await msg.term()
            return
        if in_effect.seq == seq:
            self.applied += 1
        else:  # older than the mark in effect (a redelivery, a late copy): nothing changed
            self.skipped += 1
        await msg.ack_sync()


async def consume_inbound(
    nc: Client,
    submit: SubmitFn,
    mark: MarkFn,
    config: NatsConfig,
    stop: asyncio.Event,
    *,
    process: str,
    ack_wait_s: float | None = None,
) -> None:
    """Both consumers of one engine process, until ``stop`` is set. ``ack_wait_s``: how
    long a message a process took and did not acknowledge (it died) waits before
    JetStream hands it out again (default: each consumer's own, 60 s and 30 s)."""
    waits = {} if ack_wait_s is None else {"ack_wait_s": ack_wait_s}
    decisions = decision_consumer(nc, submit, config, **waits)
    marks = MarkConsumer(nc, mark, config, process=process, **waits)
    await asyncio.gather(decisions.run(stop), marks.run(stop))


class InboundThread:
    """The bus in on a thread of its own, for a process whose main loop is not ours
    (``ordergate serve``: ``InboundThread(engine.submit, engine.mark, config,
    process=owner).start()`` after recovery, ``.stop()`` before the store closes)."""

    def __init__(self, submit: SubmitFn, mark: MarkFn, config: NatsConfig, *, process: str):
        self._args = (submit, mark, config)
        self._process = process
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bus-inbound", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        from ordergate.bus.nats import connect

        submit, mark, config = self._args
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        nc = await connect(config)
        try:
            await consume_inbound(nc, submit, mark, config, self._stop, process=self._process)
        finally:
            await nc.close()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
