"""Order event payloads: cheap to record, encoded once, and only when needed.

Every order event carries the order's view (:func:`ordergate.views.order_view`) and
the event's own fields. Recording used to build and encode that whole view for each of
the four or five events of an order, which was a third of the engine's own time. Now:

- an order's **terms** (ids, symbol, side, quantity, prices, time in force, creation
  time) change only by a confirmed replace (which drops them from the cache), so they
  are encoded once per order (and replace) and kept in a small bounded cache;
- its **state** (status, quantities, fees, errors, version) is snapshotted as a tuple
  when the event happens (:data:`~ordergate.views.order_state`), and encoded when the
  payload is first read: at flush for the SQL stores, on read for the in-memory store,
  and for the in-process bus only when someone subscribes to the topic.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import orjson

from ordergate.domain.events import SCHEMA_VERSION
from ordergate.domain.order import Order
from ordergate.domain.timestamps import iso
from ordergate.views import order_state_view, order_terms_view


class TermsCache:
    """Encoded terms by order id, for the most recent ``size`` orders of one engine.

    An order's events span two or three units of work (accept, receipt, fills), so
    the cache lives with the engine; it forgets the oldest order first.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._terms: dict[str, str] = {}
        self._lock = threading.Lock()

    def forget(self, order_id: str) -> None:
        """Drop an order's terms: a replace changed them (quantity, prices)."""
        with self._lock:
            self._terms.pop(order_id, None)

    def __call__(self, order: Order) -> str:
        terms = self._terms.get(order.order_id)
        if terms is None:
            # kept as text: orjson's bytes hold a 4 KiB buffer each, whatever their length
            terms = orjson.dumps(order_terms_view(order)).decode()
            with self._lock:
                if len(self._terms) >= self._size:
                    del self._terms[next(iter(self._terms))]
                self._terms[order.order_id] = terms
        return terms


class OrderEventPayload:
    """The payload of one order event, encoded on the first call."""

    __slots__ = ("_extra", "_previous", "_state", "_terms", "_topic", "_ts")

    def __init__(
        self,
        terms: str,
        topic: str,
        ts: datetime,
        previous: str | None,
        state: tuple[Any, ...],
        extra: dict[str, Any],
    ) -> None:
        self._terms = terms
        self._topic = topic
        self._ts = ts
        self._previous = previous
        self._state = state
        self._extra = extra

    def __call__(self) -> str:
        body = {
            "schema_version": SCHEMA_VERSION,
            "topic": self._topic,
            "ts": iso(self._ts),
            "prev_status": self._previous,
            **order_state_view(self._state),
            **self._extra,
        }
        # both halves are non-empty objects: join them into one
        return orjson.dumps(body)[:-1].decode() + "," + self._terms[1:]
