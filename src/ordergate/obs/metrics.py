"""Prometheus metrics with seed 000's names, fed from the engine's events.

=============================  =========  ===========================================
metric                         type       what
=============================  =========  ===========================================
``exec_orders_total``          counter    status changes, by ``status`` and ``adapter``
``exec_latency_ms``            histogram  SUBMITTED → the broker's first answer, ms
``exec_reject_total``          counter    rejections (gate or broker) by ``reason`` code
``exec_slippage_bps``          summary    fill vs arrival price, bps (+ = worse for us):
                                         ``_sum`` / ``_count`` is the mean
``exec_slippage_bps_dist``     histogram  the same, by bucket (negative = price improvement)
``exec_circuit_state``         gauge      0 closed, 1 half-open, 2 open, by ``adapter``
``exec_queue_depth``           gauge      calls waiting for the rate limiter/throttle
``exec_open_orders``           gauge      orders not yet in a final status
=============================  =========  ===========================================

Slippage is two series because a Prometheus histogram whose buckets go below zero is
served without its ``_sum`` (OpenMetrics forbids it there): the summary carries the sum
and count, the histogram the distribution.

Each :class:`ExecMetrics` owns its :class:`CollectorRegistry` — no global state, so two
apps in one process (tests) never share counters. It learns everything from the bus
(:meth:`on_event`), which the engine publishes to after each commit: metrics count what
was recorded, never what was merely attempted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Summary,
    generate_latest,
)

from ordergate.bus.memory import Event

CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}
OPEN = frozenset({"PENDING", "SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED", "PENDING_CANCEL"})
_ANSWERS = frozenset({"ACCEPTED", "PARTIALLY_FILLED", "FILLED", "REJECTED", "CANCELED", "EXPIRED"})
_LATENCY_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
_SLIPPAGE_BUCKETS = (-100, -50, -20, -10, -5, -2, -1, 0, 1, 2, 5, 10, 20, 50, 100)
_MAX_IN_FLIGHT = 100_000

SlippageLookup = Callable[[str], Decimal | None]


class ExecMetrics:
    """The exporter's state: counters, histograms and gauges on a private registry."""

    def __init__(
        self,
        adapter: str,
        *,
        registry: CollectorRegistry | None = None,
        slippage_lookup: SlippageLookup | None = None,
        queue_depth: Callable[[], float] | None = None,
    ) -> None:
        self.adapter = adapter
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._slippage_lookup = slippage_lookup
        r = self.registry
        self.orders = Counter(
            "exec_orders_total", "Order status changes", ["status", "adapter"], registry=r
        )
        self.latency = Histogram(
            "exec_latency_ms",
            "Milliseconds from SUBMITTED to the broker's first answer",
            ["adapter"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.rejects = Counter("exec_reject_total", "Rejections by code", ["reason"], registry=r)
        self.slippage = Summary(
            "exec_slippage_bps",
            "Fill price against arrival price in basis points (positive = worse); sum/count",
            registry=r,
        )
        self.slippage_dist = Histogram(
            "exec_slippage_bps_dist",
            "Fill price against arrival price in basis points, by bucket (negative = better)",
            buckets=_SLIPPAGE_BUCKETS,
            registry=r,
        )
        self.circuit = Gauge(
            "exec_circuit_state",
            "Broker circuit breaker: 0 closed, 1 half-open, 2 open",
            ["adapter"],
            registry=r,
        )
        self.queue = Gauge(
            "exec_queue_depth", "Broker calls waiting for the rate limiter", registry=r
        )
        self.open_orders = Gauge("exec_open_orders", "Orders not in a final status", registry=r)
        self.circuit.labels(adapter=adapter).set(0)
        self.queue.set_function(queue_depth or (lambda: 0.0))
        self._open: set[str] = set()
        self._submitted_at: OrderedDict[str, datetime] = OrderedDict()
        self.open_orders.set_function(lambda: float(len(self._open)))

    def seed_open_orders(self, order_ids: Iterable[str]) -> None:
        """Start from the orders the store has open (the service just started)."""
        self._open.update(order_ids)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # ------------------------------------------------------------ the feed

    def on_event(self, event: Event) -> None:
        """A bus handler: every ``orders.*`` status change and ``ops.broker.circuit_*``."""
        name = event.topic.rsplit(".", 1)[-1]
        payload = event.payload
        if name.startswith("circuit_"):
            state = str(payload.get("state") or name.removeprefix("circuit_"))
            self.set_circuit(str(payload.get("adapter") or self.adapter), state)
            return
        status = payload.get("status")
        is_status_change = f".orders.{name}" in f".{event.topic}" and name != "submit_attempt"
        if not is_status_change or not isinstance(status, str):
            return
        order_id = str(payload.get("order_id", event.key or ""))
        self.orders.labels(status=status, adapter=self.adapter).inc()
        if status in OPEN:
            self._open.add(order_id)
        else:
            self._open.discard(order_id)
        if status == "SUBMITTED":
            self._submitted(order_id, payload)
        elif status in _ANSWERS:
            self._answered(order_id, payload)
        if status in ("REJECTED", "FAILED"):
            self.rejects.labels(reason=str(payload.get("error_code") or "UNKNOWN")).inc()
        if status == "FILLED":
            self._slipped(order_id, payload)

    def set_circuit(self, adapter: str, state: str) -> None:
        self.circuit.labels(adapter=adapter).set(CIRCUIT_VALUES.get(state.lower(), 2))

    def _submitted(self, order_id: str, payload: dict[str, Any]) -> None:
        ts = _ts(payload.get("ts"))
        if ts is None:
            return
        self._submitted_at[order_id] = ts
        if len(self._submitted_at) > _MAX_IN_FLIGHT:
            self._submitted_at.popitem(last=False)

    def _answered(self, order_id: str, payload: dict[str, Any]) -> None:
        start = self._submitted_at.pop(order_id, None)
        end = _ts(payload.get("ts"))
        if start is not None and end is not None:
            elapsed = (end - start).total_seconds() * 1000
            self.latency.labels(adapter=self.adapter).observe(max(elapsed, 0.0))

    def _slipped(self, order_id: str, payload: dict[str, Any]) -> None:
        bps = _slippage(payload)
        if bps is None and self._slippage_lookup is not None:
            bps = self._slippage_lookup(order_id)
        if bps is not None:
            sample = float(bps)  # a metric sample, not money
            self.slippage.observe(sample)
            self.slippage_dist.observe(sample)


def _slippage(payload: dict[str, Any]) -> Decimal | None:
    try:
        avg = Decimal(str(payload["avg_fill_price"]))
        arrival = Decimal(str(payload["arrival_price"]))
    except (KeyError, InvalidOperation, TypeError):
        return None
    if not arrival:
        return None
    sign = 1 if payload.get("side") == "BUY" else -1
    return (avg - arrival) * sign / arrival * 10_000


def _ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
