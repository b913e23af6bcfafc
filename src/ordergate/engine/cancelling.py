"""Cancelling an order: recorded as requested before the broker is asked, settled by
what the broker answers (or, when it does not, by tracking)."""

from __future__ import annotations

import structlog

from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerError, BrokerRejected, OrderNotCancelable, OrderNotFound
from ordergate.domain.events import OrderCanceled, OrderCancelRejected, OrderCancelRequested
from ordergate.domain.report import ExecutionReport
from ordergate.domain.wire import BrokerOrder
from ordergate.engine.core import EngineCore
from ordergate.engine.updates import apply_broker_view

log = structlog.get_logger("ordergate.engine")


def cancel(core: EngineCore, order_id: str, reason: str = "user") -> ExecutionReport:
    """Ask the broker to cancel ``order_id``; an order never sent is canceled here."""
    order = core.store.get_order(order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}", context={"order_id": order_id})
    if order.status.is_terminal:
        raise OrderNotCancelable(
            f"order {order_id} is {order.status} and cannot be canceled",
            context={"order_id": order_id, "status": order.status},
        )
    with core.step() as step:
        current = core.reload(step, order_id)
        now = core.clock.now()
        never_sent = current.status is OrderStatus.PENDING
        if never_sent:
            step.record(current, OrderCanceled(ts=now, reason=reason))
        elif current.status is not OrderStatus.PENDING_CANCEL:
            step.record(current, OrderCancelRequested(ts=now, reason=reason))
    if never_sent:
        return core.report(order_id)
    view: BrokerOrder | None
    try:
        view = core.policy.call("cancel", lambda: core.broker.cancel(order.client_order_id))
    except BrokerRejected as exc:
        view = core.lookup(order.client_order_id)
        if view is None or view.status.is_open:
            _refused(core, order_id, exc.message)
    except BrokerError as exc:
        log.warning(
            "cancel not confirmed; tracking will settle it", order_id=order_id, error=str(exc)
        )
        return core.report(order_id)
    if view is not None:
        apply_broker_view(core, view)
    return core.report(order_id)


def _refused(core: EngineCore, order_id: str, message: str) -> None:
    with core.step() as step:
        current = core.reload(step, order_id)
        if current.status is OrderStatus.PENDING_CANCEL:
            step.record(current, OrderCancelRejected(ts=core.clock.now(), message=message))
