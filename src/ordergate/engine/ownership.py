"""Which open orders this engine process follows, when several share one database.

Each process claims the orders it submits (on the ``orders.submitted`` event, after
the commit), renews its leases on a heartbeat, and gives them up when they end. On
each heartbeat it also takes over *orphans* — open orders whose process died (lease
expired) or never claimed them — and recovers them exactly as startup recovery does:
a look-up by ``client_order_id`` at the broker, then adopt, resend or fail. The order
tracker follows only the orders this process owns, so no order is tracked twice or
left untracked (see ``store/leases.py`` for why a stale owner is still safe).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import structlog

from ordergate.bus.memory import Event
from ordergate.engine.engine import ExecutionEngine
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
    def __init__(self, engine: ExecutionEngine, leases: OrderLeases, ttl: timedelta) -> None:
        self.engine = engine
        self.leases = leases
        self.ttl = ttl
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._next_beat = 0.0
        engine.subscribe("orders.submitted", self._on_submitted)
        for topic in FINAL_TOPICS:
            engine.subscribe(topic, self._on_final)

    def _on_submitted(self, event: Event) -> None:
        order_id = str(event.payload["order_id"])
        with self._lock:
            self._held.update(self.leases.claim([order_id], self.ttl))

    def _on_final(self, event: Event) -> None:
        order_id = str(event.payload["order_id"])
        with self._lock:
            if order_id in self._held:
                self._held.discard(order_id)
                self.leases.release([order_id])

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
        held = set(self.leases.renew(self.ttl))
        orphans = self.leases.claim_orphans(self.ttl)
        with self._lock:
            self._held = held | set(orphans)
        if not orphans:
            return None
        log.info("taking over orphaned orders", count=len(orphans), owner=self.leases.owner)
        return recover(self.engine, only=set(orphans))

    def stop(self) -> None:
        """A clean stop hands every order over at once."""
        self.leases.release_all()
        with self._lock:
            self._held.clear()
