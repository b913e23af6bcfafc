"""Order event payloads: cheap to record, encoded once, and only when needed.

Every order event carries the order's view (:func:`ordergate.views.order_view`) and
the event's own fields. Recording used to build and encode that whole view for each of
the four or five events of an order, which was a third of the engine's own time. Now:

- an order's **terms** (ids, symbol, side, quantity, prices, time in force, creation
  time) never change, so they are encoded once per order and kept in a small bounded
  cache;
- its **state** (status, quantities, fees, errors, version) is snapshotted as a tuple
  when the event happens, and encoded when the payload is first read: at flush for
  the SQL stores, on read for the in-memory store, and for the in-process bus only
  when someone subscribes to the topic.

The JSON is the same object as before, keys aside: ``test_payloads`` holds it to
``order_view`` plus the event's fields.
"""

from __future__ import annotations

import threading
from datetime import datetime
from operator import attrgetter
from typing import Any

import orjson

from ordergate.domain.events import SCHEMA_VERSION
from ordergate.domain.money import fmt
from ordergate.domain.order import Order
from ordergate.domain.timestamps import iso

#: What changes in an order from one event to the next, in this order.
order_state = attrgetter(
    "broker_order_id",
    "status",
    "filled_qty",
    "avg_fill_price",
    "fees",
    "late",
    "reason",
    "error_code",
    "error_message",
    "attempts",
    "version",
    "updated_at",
)


def terms_json(order: Order) -> bytes:
    """The fields of ``order`` that are fixed at creation, as a JSON object."""
    return orjson.dumps(
        {
            "order_id": order.order_id,
            "client_order_id": order.client_order_id,
            "idempotency_key": order.idempotency_key,
            "account_id": order.account_id,
            "strategy_id": order.strategy_id,
            "symbol": order.symbol,
            "side": order.side.value,
            "qty": fmt(order.qty),
            "order_type": order.order_type.value,
            "limit_price": fmt(order.limit_price),
            "stop_price": fmt(order.stop_price),
            "time_in_force": order.time_in_force.value,
            "arrival_price": fmt(order.arrival_price),
            "parent_order_id": order.parent_order_id,
            "created_at": iso(order.created_at),
        }
    )


class TermsCache:
    """Encoded terms by order id, for the most recent ``size`` orders of one engine.

    An order's events span two or three units of work (accept, receipt, fills), so
    the cache lives with the engine; it forgets the oldest order first.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._terms: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def __call__(self, order: Order) -> bytes:
        terms = self._terms.get(order.order_id)
        if terms is None:
            terms = terms_json(order)
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
        terms: bytes,
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
        (
            broker_order_id,
            status,
            filled_qty,
            avg_fill_price,
            fees,
            late,
            reason,
            error_code,
            error_message,
            attempts,
            version,
            updated_at,
        ) = self._state
        body = {
            "schema_version": SCHEMA_VERSION,
            "topic": self._topic,
            "ts": iso(self._ts),
            "prev_status": self._previous,
            "broker_order_id": broker_order_id,
            "status": status.value,
            "filled_qty": fmt(filled_qty),
            "avg_fill_price": fmt(avg_fill_price),
            "fees": fmt(fees),
            "late": late,
            "reason": reason or None,
            "error_code": error_code or None,
            "error_message": error_message or None,
            "attempts": attempts,
            "version": version,
            "updated_at": iso(updated_at),
            **self._extra,
        }
        # both halves are non-empty objects: join them into one
        return (orjson.dumps(body)[:-1] + b"," + self._terms[1:]).decode()
