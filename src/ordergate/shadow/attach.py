"""Shadow mode switched on: the twin, fed from the real engine's bus through the worker.

What is subscribed on the real engine (in-process bus, after each commit):

- ``orders.submitted``: every order that goes out — a strategy's, a basket's, a
  bracket's stop and take-profit, an algorithm's child — passes the Step path and is
  marked SUBMITTED there, so this one topic sees them all (and no order a gate
  refused: those go PENDING → REJECTED);
- ``market.mark``: the marks the real engine trades on;
- ``orders.canceled|expired|rejected|failed``: a real order that ended unfilled.

Each handler only offers the event's payload to the worker's bounded queue; the
twin's work happens in the worker's thread. Nothing is written to the real store and
nothing is published on the real bus.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ordergate.bus.memory import Event
from ordergate.domain.enums import OrderStatus
from ordergate.domain.events import STATUS_TOPICS
from ordergate.engine.engine import ExecutionEngine
from ordergate.shadow.links import DROPPED
from ordergate.shadow.twin import ENDED_UNFILLED, Mirror, Twin
from ordergate.shadow.worker import DEFAULT_QUEUE_SIZE, ShadowWorker


@dataclass(slots=True)
class Shadow:
    """A running shadow: the twin, its worker, and the real engine's subscriptions."""

    twin: Twin
    worker: ShadowWorker
    _unsubscribe: list[Callable[[], None]] = field(default_factory=list)

    def stats(self) -> dict[str, int]:
        """Events applied, failed, dropped by a full queue, and waiting now."""
        worker = self.worker
        return {
            "applied": worker.applied,
            "failed": worker.failed,
            "dropped": worker.dropped,
            "backlog": worker.backlog,
        }

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until the twin has applied every event offered so far."""
        return self.worker.drain(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Stop listening, apply what is queued, close the twin's store."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self.worker.close(timeout)
        self.twin.close()


def attach_shadow(
    engine: ExecutionEngine, twin: Twin, *, queue_size: int = DEFAULT_QUEUE_SIZE
) -> Shadow:
    """Run ``twin`` beside ``engine`` (``bootstrap.build_twin`` builds it): every order
    that goes out from now on is also simulated on the twin."""
    mirror = Mirror(twin)
    links = twin.links
    worker = ShadowWorker(maxsize=queue_size, on_dropped=lambda n: links.add_to_counter(DROPPED, n))
    shadow = Shadow(twin, worker)
    worker.offer(mirror.seed_marks, engine.marks())

    def went_out(event: Event) -> None:
        worker.offer(mirror.order_went_out, event.payload)

    def marked(event: Event) -> None:
        worker.offer(mirror.marked, event.payload)

    def ended(event: Event) -> None:
        if _was_sent(event.payload):
            worker.offer(mirror.order_ended, event.payload)

    shadow._unsubscribe.append(engine.subscribe(STATUS_TOPICS[OrderStatus.SUBMITTED], went_out))
    shadow._unsubscribe.append(engine.subscribe("market.mark", marked))
    for status in sorted(ENDED_UNFILLED):
        shadow._unsubscribe.append(engine.subscribe(STATUS_TOPICS[status], ended))
    return shadow


def _was_sent(payload: Mapping[str, Any]) -> bool:
    """False for an order refused before it went out (PENDING → REJECTED / CANCELED)."""
    return payload.get("prev_status") != OrderStatus.PENDING.value
