"""Which open orders this engine process follows, when several share one database.

Each process owns the orders it submits from the ``orders.submitted`` event on, and
writes their lease rows on its next heartbeat, in one batch; it renews its leases on
each heartbeat and forgets an order when it ends (the heartbeat prunes the rows of
ended orders). On each heartbeat it also takes over *orphans* — open orders whose
process died (lease expired) or never claimed them — and recovers them exactly as
startup recovery does: a look-up by ``client_order_id`` at the broker, then adopt,
resend or fail. The order tracker follows only the orders this process owns, so no
order is tracked twice or left untracked (see ``store/leases.py`` for why a stale
owner is still safe).

Why the rows wait for the heartbeat: most orders end within their submit call, and a
claim and a release per order were two more write transactions beside the order's
own two (``bench/bench_api.py``). Waiting is safe because an order without a lease
is not an orphan until it has been unchanged for a whole lease time
(``OrderLeases.claim_orphans``), and the heartbeat comes every third of it.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import structlog

from ordergate.bus.memory import Event
from ordergate.engine.core import EngineCore
from ordergate.engine.recovery import RecoveryReport, recover
from ordergate.store.leases import OrderLeases

log = structlog.get_logger("ordergate.engine")
FINAL_TOPICS = (
    "orders.filled",
    "orders.canceled",
    "orders.rejected",
    "orders.expired",
    "orders.failed",
)


class Ownership:
    def __init__(self, engine: EngineCore, leases: OrderLeases, ttl: timedelta) -> None:
        self.engine = engine
        self.leases = leases
        self.ttl = ttl
        self._held: set[str] = set()
        #: held here, its lease row not written yet (the next heartbeat writes it)
        self._unwritten: set[str] = set()
        self._lock = threading.Lock()
        self._next_beat = 0.0
        #: the first beat recovers what we held before a restart (a configured engine id)
        self._first_beat = True
        engine.subscribe("orders.submitted", self._on_submitted)
        for topic in FINAL_TOPICS:
            engine.subscribe(topic, self._on_final)

    def _on_submitted(self, event: Event) -> None:
        order_id = str(event.payload["order_id"])
        with self._lock:
            self._held.add(order_id)
            self._unwritten.add(order_id)

    def _on_final(self, event: Event) -> None:
        order_id = str(event.payload["order_id"])
        with self._lock:
            self._held.discard(order_id)
            self._unwritten.discard(order_id)

    def owns(self, order_id: str) -> bool:
        with self._lock:
            return order_id in self._held

    def heartbeat(self, *, force: bool = False) -> RecoveryReport | None:
        """Renew our leases (every third of the lease time) and take over orphans."""
        now = time.monotonic()
        if not force and now < self._next_beat:
            return None
        self._next_beat = now + self.ttl.total_seconds() / 3
        self.leases.prune()  # orders that ended (maybe in another process) need no owner
        with self._lock:
            fresh = sorted(self._unwritten)
            self._unwritten.clear()
        if fresh:
            self.leases.claim(fresh, self.ttl)  # what another process took is left out
        held = set(self.leases.renew(self.ttl))
        orphans = self.leases.claim_orphans(self.ttl)
        with self._lock:
            # the orders submitted while this beat ran have no row yet, and stay ours
            self._held = held | set(orphans) | self._unwritten
        # a restart under the same engine id: the leases still ours are in-flight orders
        # of the process that died, recovered at once, not after their lease expires
        reclaimed = held if self._first_beat else set()
        self._first_beat = False
        if not orphans and not reclaimed:
            return None
        if reclaimed:
            log.info(
                "reclaiming this engine's orders", count=len(reclaimed), owner=self.leases.owner
            )
        if orphans:
            log.info("taking over orphaned orders", count=len(orphans), owner=self.leases.owner)
        return recover(self.engine, only=set(orphans) | reclaimed)

    def stop(self) -> None:
        """A clean stop hands every order over at once."""
        self.leases.release_all()
        with self._lock:
            self._held.clear()
            self._unwritten.clear()
