"""Following open orders until they end (DESIGN.md step 8).

The broker's stream pushes changes to ``ExecutionEngine.on_broker_update``. While the
stream is down — or the adapter has none — :class:`OrderTracker` polls every open
order by ``client_order_id`` (every 100 ms by default). Either way it enforces the
hard timeout (seed 004: 30 s by default, configurable): an order still working that
long after it was sent is canceled with reason ``timeout`` and ends ``CANCELED``. A
fill that arrives after that is still applied — the order becomes ``FILLED`` with
``late=true`` — so a timed-out order stays watched for ``late_grace`` seconds more.
Attached stop-loss and take-profit orders rest on purpose and never time out.

Once a timed-out order has ended, it is reconciled by itself (seed 004, scenario 3:
the broker's view of it and the position in its symbol, looked up once), and the
report is kept linked to the order (``reconcile_order``).

A cancel the broker did not confirm is sent again every ``cancel_retry`` seconds.
:meth:`OrderTracker.tick` does one pass (tests drive it with a simulated clock);
:meth:`OrderTracker.start` runs it on a daemon thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import structlog

from ordergate.domain.enums import OrderStatus, TimeInForce
from ordergate.domain.errors import OrderGateError
from ordergate.domain.order import Order
from ordergate.engine.cancelling import cancel
from ordergate.engine.core import EngineCore
from ordergate.engine.queries import late_fill_candidates
from ordergate.engine.reconcile import reconcile_order
from ordergate.engine.updates import apply_broker_view

if TYPE_CHECKING:
    from ordergate.engine.ownership import Ownership

log = structlog.get_logger("ordergate.engine.tracking")
TIMEOUT_REASON = "timeout"


@runtime_checkable
class StreamStatus(Protocol):
    """An adapter with a stream says whether it is up; one without is polled."""

    @property
    def stream_up(self) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackingConfig:
    poll_interval: float = 0.1
    hard_timeout: float = 30.0
    late_grace: float = 60.0
    cancel_retry: float = 1.0
    #: With the stream up, still poll every order this often (a report can be lost).
    safety_poll: float = 5.0
    #: A SUBMITTED order this long after its send has an unknown outcome (its receipt
    #: never came, and the resend rule forbade a resend): it is looked up every pass
    #: and never canceled blind ...
    unknown_after: float = 5.0
    #: ... and this long after its send, still not found, it is reported for a person.
    unknown_report_after: float = 300.0


@dataclass(slots=True)
class TickResult:
    polled: int = 0
    timed_out: list[str] = field(default_factory=list)
    changed: int = 0


class OrderTracker:
    """Polls when it must, cancels at the hard timeout, keeps watching for late fills."""

    def __init__(
        self,
        engine: EngineCore,
        config: TrackingConfig | None = None,
        *,
        ownership: Ownership | None = None,
    ) -> None:
        self.engine = engine
        self.config = config or TrackingConfig()
        #: with several engines on one database: follow only the orders this one owns
        self.ownership = ownership
        self._late_watch: dict[str, datetime] = {}
        self._cancel_sent: dict[str, datetime] = {}
        #: timed out, not yet reconciled (done once the order has ended)
        self._to_reconcile: set[str] = set()
        #: unknown orders reported for a person, by order id (report id)
        self.unknown_reports: dict[str, str] = {}
        #: the reports made after a hard timeout, by order id
        self.timeout_reports: dict[str, str] = {}
        self._last_full_poll: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stream_up(self) -> bool:
        broker = self.engine.broker
        return isinstance(broker, StreamStatus) and broker.stream_up

    def tick(self) -> TickResult:
        """One pass over the open orders (and the timed-out ones still watched)."""
        now = self.engine.clock.now()
        result = TickResult()
        poll_all = not self.stream_up or self._safety_poll_due(now)
        owner = self.ownership
        if owner is not None:
            owner.heartbeat()
        for order in self.engine.store.open_orders():
            if order.status is OrderStatus.PENDING:
                continue
            if owner is not None and not owner.owns(order.order_id):
                continue
            if self._unknown(order, now):
                self._poll(order.order_id, order.client_order_id, result)
                self._report_unknown(order.order_id, now)
            elif self._timed_out(order, now):
                self._cancel(order, now, result)
            elif poll_all or order.status is OrderStatus.PENDING_CANCEL:
                self._poll(order.order_id, order.client_order_id, result)
        if poll_all:
            for order in late_fill_candidates(self.engine.store, now, self.config.late_grace):
                if order.order_id not in self._late_watch:
                    self._poll(order.order_id, order.client_order_id, result)
        for order_id, since in list(self._late_watch.items()):
            watched = self.engine.store.get_order(order_id)
            done = watched is None or watched.status is OrderStatus.FILLED
            if done or (now - since).total_seconds() > self.config.late_grace:
                del self._late_watch[order_id]
            elif poll_all and watched is not None and watched.status.is_terminal:
                self._poll(order_id, watched.client_order_id, result)
        self._reconcile_timed_out()
        return result

    def _reconcile_timed_out(self) -> None:
        """Reconcile every timed-out order that has ended since (once each)."""
        for order_id in sorted(self._to_reconcile):
            order = self.engine.store.get_order(order_id)
            if order is None:
                self._to_reconcile.discard(order_id)
                continue
            if not order.status.is_terminal:
                continue
            try:
                report = reconcile_order(self.engine, order_id)
            except OrderGateError as exc:  # the broker or the store said no: next tick
                log.warning("reconcile after timeout failed", order_id=order_id, error=str(exc))
                continue
            self._to_reconcile.discard(order_id)
            self.timeout_reports[order_id] = report.report_id
            log.info(
                "reconciled after hard timeout",
                order_id=order_id,
                report_id=report.report_id,
                status=report.status.value,
                requires_manual_resolution=report.requires_manual_resolution,
            )

    def _safety_poll_due(self, now: datetime) -> bool:
        last = self._last_full_poll
        if last is None or (now - last).total_seconds() >= self.config.safety_poll:
            self._last_full_poll = now
            return True
        return False

    def _unknown(self, order: Order, now: datetime) -> bool:
        if order.status is not OrderStatus.SUBMITTED:
            return False
        sent = order.submitted_at or order.created_at
        return (now - sent).total_seconds() >= self.config.unknown_after

    def _report_unknown(self, order_id: str, now: datetime) -> None:
        """Past the bound and still unknown: one reconcile report, for a person."""
        if order_id in self.unknown_reports:
            return
        order = self.engine.store.get_order(order_id)
        if order is None or order.status is not OrderStatus.SUBMITTED:
            return  # the look-up just settled it
        sent = order.submitted_at or order.created_at
        if (now - sent).total_seconds() < self.config.unknown_report_after:
            return
        try:
            report = reconcile_order(self.engine, order_id)
        except OrderGateError as exc:
            log.warning("reconcile of an unknown order failed", order_id=order_id, error=str(exc))
            return
        self.unknown_reports[order_id] = report.report_id
        log.error(
            "order outcome still unknown; a person must check the broker",
            order_id=order_id,
            client_order_id=order.client_order_id,
            report_id=report.report_id,
        )

    def _timed_out(self, order: Order, now: datetime) -> bool:
        if order.parent_order_id:  # an attached SL/TP rests on purpose: it protects a fill
            return False
        if order.time_in_force in (TimeInForce.GTC, TimeInForce.GTD):
            return False  # asked to rest until canceled (or its date): no hard timeout
        sent = order.submitted_at or order.created_at
        return now - sent >= timedelta(seconds=self.config.hard_timeout)

    def _cancel(self, order: Order, now: datetime, result: TickResult) -> None:
        last = self._cancel_sent.get(order.order_id)
        if last is not None and (now - last).total_seconds() < self.config.cancel_retry:
            return
        self._cancel_sent[order.order_id] = now
        reason = order.reason if order.status is OrderStatus.PENDING_CANCEL else TIMEOUT_REASON
        try:
            report = cancel(self.engine, order.order_id, reason=reason or TIMEOUT_REASON)
        except OrderGateError as exc:  # ended meanwhile, or the store said no: next tick
            log.warning("hard-timeout cancel failed", order_id=order.order_id, error=str(exc))
            return
        result.timed_out.append(order.order_id)
        if (reason or TIMEOUT_REASON) == TIMEOUT_REASON:
            self._to_reconcile.add(order.order_id)
        if report.status is not OrderStatus.FILLED:
            self._late_watch.setdefault(order.order_id, now)
        if report.status.is_terminal:
            self._cancel_sent.pop(order.order_id, None)

    def _poll(self, order_id: str, client_order_id: str, result: TickResult) -> None:
        engine = self.engine
        try:
            view = engine.policy.call(
                "fetch_order", lambda: engine.broker.fetch_order(client_order_id)
            )
        except OrderGateError as exc:
            log.debug("poll failed", order_id=order_id, error=str(exc))
            return
        result.polled += 1
        if view is None:
            return
        before = engine.store.get_order(order_id)
        apply_broker_view(engine, view)
        after = engine.store.get_order(order_id)
        if before is not None and after is not None and before.version != after.version:
            result.changed += 1

    # ------------------------------------------------------------ thread

    def start(self) -> None:
        if self._thread is not None:
            return
        if self.ownership is not None:  # leases renewed on their own schedule, not per pass
            self.ownership.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="order-tracker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.ownership is not None:
            self.ownership.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.config.poll_interval):
            try:
                self.tick()
            except Exception:  # tracking must outlive one bad pass
                log.exception("order tracking pass failed")
