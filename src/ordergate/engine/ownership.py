"""Which open orders this engine process follows, when several share one database.

Each process owns the orders it submits from the ``orders.submitted`` event on. Its
broker calls go through :class:`~ordergate.engine.fence.FencedBroker`: right before a
submit the order's lease is claimed in the database (a fencing token comes back), and
the order is sent only while this process holds it with ``send_margin`` to spare by its
own monotonic clock. A peer takes an order over only when the database's clock says its
lease ran out — and an order never leased only once the database's clock says it has
not changed for a whole lease time — so no host's wall clock decides who sends.

The heartbeat runs on its own thread (:meth:`Ownership.start`), every third of the
lease time, and does nothing but database work: renew our leases, write the rows of
orders submitted since the last beat. Orphans — open orders whose process died (lease
expired) or never claimed them — are claimed and recovered on a second thread, exactly
as startup recovery does (a look-up by ``client_order_id``, then adopt, resend or fail),
so a slow broker or a long recovery never delays a renewal. The order tracker follows
only the orders this process owns (``owns``).

A paper broker lives inside its process: a second process could neither see nor cancel
its orders. On a database shared by processes (PostgreSQL) the first process on the
in-process paper broker takes that role for its life, and a second one is refused with
:class:`ConfigError`, saying why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import structlog

from ordergate.brokers.paper import PaperBroker
from ordergate.bus.memory import Event
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ConfigError
from ordergate.domain.events import STATUS_TOPICS, SUBMIT_ATTEMPT_TOPIC
from ordergate.engine.core import EngineCore
from ordergate.engine.fence import Clearance, FencedBroker
from ordergate.engine.recovery import RecoveryReport, recover
from ordergate.store.leases import OrderLeases, SendFence, SharedRoles

log = structlog.get_logger("ordergate.engine")
FINAL_TOPICS = (
    "orders.filled",
    "orders.canceled",
    "orders.rejected",
    "orders.expired",
    "orders.failed",
)
#: Any of these after a send means its answer (or its failure) is recorded.
_ANSWERED_TOPICS = (
    *(t for s, t in STATUS_TOPICS.items() if s not in (OrderStatus.PENDING, OrderStatus.SUBMITTED)),
    SUBMIT_ATTEMPT_TOPIC,
)
PAPER_ROLE = "paper-broker"
MonotonicClock = Callable[[], float]


class Ownership:
    def __init__(
        self,
        engine: EngineCore,
        leases: OrderLeases,
        ttl: timedelta,
        *,
        send_margin: timedelta | None = None,
        monotonic: MonotonicClock | None = None,
    ) -> None:
        self.engine = engine
        self.leases = leases
        self.ttl = ttl
        #: a send starts only with this much of our lease left (> the broker call timeout)
        self.send_margin = send_margin if send_margin is not None else ttl / 2
        self._mono = monotonic or time.monotonic
        self._held: set[str] = set()
        #: held here, its lease row not written yet (the next heartbeat writes it)
        self._unwritten: set[str] = set()
        self._by_cid: dict[str, str] = {}
        #: orders this life of the process created or claimed (a lease under our name
        #: from before a restart is not proof that we did not send it)
        self._mine: set[str] = set()
        self._sending: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_beat = 0.0
        #: one of beat's renewal and take_over's claim at a time (each rewrites _held)
        self._claims = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._refuse_a_second_paper_process()
        #: the first takeover also recovers the leases still under our name: in-flight
        #: orders of an earlier life of this process (a configured engine id)
        self._first_take_over = True
        engine.subscribe("orders.submitted", self._on_submitted)
        for topic in FINAL_TOPICS:
            engine.subscribe(topic, self._on_final)
        for topic in _ANSWERED_TOPICS:
            engine.subscribe(topic, self._on_answered)
        if not isinstance(leases, SendFence):
            raise ConfigError(f"{type(leases).__name__} cannot fence a send (no begin_send)")
        self._fence: SendFence = leases
        if not isinstance(engine.broker, FencedBroker):
            engine.broker = FencedBroker(engine.broker, self)

    def _refuse_a_second_paper_process(self) -> None:
        broker = self.engine.broker
        inner = broker.inner if isinstance(broker, FencedBroker) else broker
        if not isinstance(inner, PaperBroker) or not isinstance(self.leases, SharedRoles):
            return
        if not self.leases.hold_exclusive(PAPER_ROLE):
            raise ConfigError(
                "another ordergate process already runs the in-process paper broker on this "
                "database; a paper broker's orders live inside its process, so this one could "
                "neither see, track nor cancel them. Run one process on the paper broker, or "
                "set EXEC_BROKER_ADAPTER=exchange (the simulated exchange, its own process) "
                "to run several",
                context={"role": PAPER_ROLE},
            )

    # ------------------------------------------------------------ events

    def _on_submitted(self, event: Event) -> None:
        order_id = str(event.payload["order_id"])
        cid = event.payload.get("client_order_id")
        with self._lock:
            self._held.add(order_id)
            self._unwritten.add(order_id)
            self._mine.add(order_id)
            if cid:
                self._by_cid[str(cid)] = order_id

    def _on_final(self, event: Event) -> None:
        order_id = str(event.payload["order_id"])
        with self._lock:
            self._held.discard(order_id)
            self._unwritten.discard(order_id)
            self._mine.discard(order_id)
            cid = event.payload.get("client_order_id")
            if cid:
                self._by_cid.pop(str(cid), None)

    def _on_answered(self, event: Event) -> None:
        self.end_send(str(event.payload["order_id"]))

    def owns(self, order_id: str) -> bool:
        with self._lock:
            return order_id in self._held

    # ------------------------------------------------------------ the fence

    def order_for(self, client_order_id: str) -> str | None:
        with self._lock:
            order_id = self._by_cid.get(client_order_id)
        if order_id is None:
            order = self.engine.store.order_by_client_id(client_order_id)
            order_id = None if order is None else order.order_id
        return order_id

    def begin_send(self, order_id: str) -> Clearance | None:
        """May this process send ``order_id`` now? Its lease claimed (or renewed) in the
        database just now, with ``send_margin`` of it left by our monotonic clock, and
        the order still unsent: the send is marked in flight. None: do not send."""
        asked = self._mono()
        grant = self._fence.begin_send(order_id, self.ttl)
        if grant is None:
            log.warning("not sending: another process holds or settled it", order_id=order_id)
            with self._lock:
                self._held.discard(order_id)
            return None
        if grant.claimed_s_ago is not None:  # claimed in the accept: the lease runs from then
            asked = self._mono() - grant.claimed_s_ago
        until = asked + self.ttl.total_seconds()
        with self._lock:
            known = order_id in self._mine
            self._held.add(order_id)
            self._mine.add(order_id)
            self._unwritten.discard(order_id)
            self._sending[order_id] = asked
        if until - self._mono() < self.send_margin.total_seconds():
            log.warning("not sending: the lease claim took too long", order_id=order_id)
            self.end_send(order_id)
            return None
        previous = grant.previous_owner
        taken = previous is not None and previous != self.leases.owner
        return Clearance(grant.token, look_up_first=taken or not known)

    def end_send(self, order_id: str) -> None:
        with self._lock:
            if self._sending.pop(order_id, None) is None:
                return
        self._fence.end_send(order_id)

    # ------------------------------------------------------------ heartbeat

    def beat(self) -> None:
        """Renew every lease we hold and write the rows of new orders: database work only."""
        self.leases.prune()  # orders that ended (maybe in another process) need no owner
        with self._claims:
            asked = self._mono()
            with self._lock:
                fresh = sorted(self._unwritten)
                self._unwritten.clear()
            if fresh:
                self.leases.claim(fresh, self.ttl)  # what another process took is left out
            held = set(self.leases.renew(self.ttl))
            with self._lock:
                # the orders submitted while this beat ran have no row yet, and stay ours
                self._held = held | self._unwritten
        with self._lock:
            limit = 3 * self.ttl.total_seconds()
            stuck = [i for i, t in self._sending.items() if asked - t > limit]
        for order_id in stuck:  # an answer never recorded: replays need not wait for it
            self.end_send(order_id)

    def take_over(self) -> RecoveryReport | None:
        """Claim the orphans (expired or never-written leases) and recover them — the
        first time, with the leases still under our name from an earlier life (a restart
        under the same engine id takes its in-flight orders back at once, not after
        their leases expire)."""
        with self._claims:
            orphans = self.leases.claim_orphans(self.ttl)
            with self._lock:
                # held under our name but not made or claimed in this life: a restart's
                reclaimed = self._held - self._mine if self._first_take_over else set()
                self._first_take_over = False
                self._held |= set(orphans)
                self._mine |= set(orphans)  # recovery looks each one up before any resend
        if not orphans and not reclaimed:
            return None
        if reclaimed:
            log.info(
                "reclaiming this engine's orders", count=len(reclaimed), owner=self.leases.owner
            )
        if orphans:
            log.info("taking over orphaned orders", count=len(orphans), owner=self.leases.owner)
        return recover(self.engine, only=set(orphans) | reclaimed)

    def heartbeat(self, *, force: bool = False) -> RecoveryReport | None:
        """Beat and take over in the caller's thread (at start, or when not started);
        with the threads running, they do it and this returns None."""
        if self._threads and not force:
            return None
        now = time.monotonic()
        if not force and now < self._next_beat:
            return None
        self._next_beat = now + self.ttl.total_seconds() / 3
        self.beat()
        return self.take_over()

    def start(self) -> None:
        """The heartbeat and the takeover, each on its own daemon thread."""
        if self._threads:
            return
        self._stop.clear()
        period = self.ttl.total_seconds() / 3
        for name, work in (("lease-heartbeat", self.beat), ("lease-takeover", self.take_over)):
            thread = threading.Thread(
                target=self._loop, args=(work, period), name=name, daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _loop(self, work: Callable[[], object], period: float) -> None:
        while not self._stop.wait(period):
            try:
                work()
            except Exception:  # a bad beat must not end the heartbeat
                log.exception("lease work failed", owner=self.leases.owner)

    def stop(self) -> None:
        """A clean stop hands every order over at once."""
        self._stop.set()
        for thread in self._threads:
            thread.join(5.0)
        self._threads.clear()
        self.leases.release_all()
        with self._lock:
            self._held.clear()
            self._unwritten.clear()
