"""Applying the broker's view of an order to ours, whatever order it arrives in.

Broker messages come late, twice and out of order. The rules:

- executions are applied once each, keyed by ``exec_id``; a cumulative filled quantity
  beyond the detail becomes one synthetic execution keyed by that quantity, so it
  dedupes too;
- a status only moves forward: an ``ACCEPTED`` that arrives after a fill is stale and
  ignored; a final status (canceled, rejected, expired) is applied after the fills;
- a fill after a cancel or the hard timeout is still applied, and marked late;
- a bust or correction of a booked execution (``Execution.amend``) is applied after the
  trades and before the cumulative quantity is compared (``engine/amending.py``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import structlog

from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ErrorCode, IllegalTransition, OrderGateError
from ordergate.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderRejected,
    PendingReplace,
    Replaced,
    ReplaceKind,
    ReplaceRejected,
)
from ordergate.domain.fills import Amend, Fill
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.order import Order
from ordergate.domain.wire import BrokerOrder, Execution
from ordergate.engine.amending import amended_fill, amendment_for_unbooked, changes
from ordergate.engine.recorder import Step


def shows_replace(view: BrokerOrder, pending: PendingReplace) -> bool:
    """The broker's view of the order carries the pending replace's terms (a price the
    broker does not report is not taken as shown)."""
    if view.qty != pending.qty:
        return False
    for seen, wanted in (
        (view.limit_price, pending.limit_price),
        (view.stop_price, pending.stop_price),
    ):
        if wanted is not None and seen != wanted:
            return False
    return True


log = structlog.get_logger("ordergate.engine")
S = OrderStatus
#: what ``Order.apply(FillAmended)`` refuses with, before it changes anything
_REFUSED_BY_THE_ORDER = frozenset(
    {ErrorCode.E_ORDER_OVERFILL, ErrorCode.E_ORDER_ILLEGAL_TRANSITION}
)


def apply_broker_order(
    step: Step,
    order: Order,
    view: BrokerOrder,
    now: datetime,
    account_currency: str | None = None,
) -> None:
    """Apply ``view`` to ``order``; a fee in a currency other than ``account_currency``
    (None: unknown, so only fees without a currency are booked) is recorded with its
    fill and not booked: cash and P&L never mix currencies."""
    pending = order.pending_replace
    if (
        pending is not None
        and pending.kind is ReplaceKind.IN_PLACE
        and order.is_open
        and order.status is not S.SUBMITTED
        and shows_replace(view, pending)
    ):
        # the broker holds the order on its new terms: the replace is done (before the
        # fills, which may already go beyond the old quantity)
        step.record(order, Replaced(ts=view.ts or now))
    # a receipt that is already a full fill goes SUBMITTED -> FILLED (seed 001, scenario 1)
    acked = view.status not in (S.REJECTED, S.FILLED)
    if order.status is S.SUBMITTED and acked and view.broker_order_id:
        step.record(order, OrderAccepted(ts=view.ts or now, broker_order_id=view.broker_order_id))
    amendments = []
    for execution in view.executions:
        if execution.amend is Amend.NONE:
            _book(step, order, execution, view.broker_order_id, account_currency)
        else:
            amendments.append(execution)
    for execution in amendments:
        _amend(step, order, execution, view.broker_order_id, view.ts or now, account_currency)
    rest = view.filled_qty - order.filled_qty
    if rest > 0 and view.avg_price is not None:
        # the broker gives a cumulative quantity without (all) the detail: one synthetic
        # execution for the rest, keyed by the cumulative quantity so a repeat dedupes
        booked = (order.avg_fill_price or ZERO) * order.filled_qty
        price = (view.avg_price * view.filled_qty - booked) / rest
        synthetic = Execution(
            exec_id=f"{view.broker_order_id}:cum:{fmt(view.filled_qty)}",
            last_qty=rest,
            last_px=price,
            ts=view.ts or now,
        )
        _book(step, order, synthetic, view.broker_order_id)
    _apply_final_status(step, order, view, now)
    pending = order.pending_replace
    if pending is not None and pending.kind is ReplaceKind.IN_PLACE and order.status.is_terminal:
        message = f"the order ended {order.status} before replace {pending.number} applied"
        step.record(
            order,
            ReplaceRejected(
                ts=view.ts or now, code=ErrorCode.E_ORDER_NOT_MODIFIABLE, message=message
            ),
        )


def _amend(
    step: Step,
    order: Order,
    execution: Execution,
    broker_order_id: str,
    ts: datetime,
    account_currency: str | None = None,
) -> None:
    booked = step.tx.booked_fill(order.order_id, execution.exec_id)
    if booked is None:
        plain = amendment_for_unbooked(order, execution)
        if plain is not None:
            _book(step, order, plain, broker_order_id, account_currency)
        return
    if booked.busted or (execution.amend_id and execution.amend_id == booked.amend_id):
        return  # busted already (a busted trade is not corrected), or this one applied
    after = amended_fill(booked.fill, execution)
    if not changes(booked.fill, after):
        return
    try:
        step.record_amendment(order, booked, after, execution.amend_id, ts)
    except OrderGateError as exc:
        if exc.code not in _REFUSED_BY_THE_ORDER:
            raise  # the store failed: the whole step rolls back
        # an amendment the order cannot take (past its quantity): refused before anything
        # changed; the reconcile report shows the difference to a person
        log.error(
            "fill amendment not applied",
            order_id=order.order_id,
            exec_id=execution.exec_id,
            error=exc.message,
        )


def _book(
    step: Step,
    order: Order,
    execution: Execution,
    broker_order_id: str,
    account_currency: str | None = None,
) -> None:
    # an order that never had a fill has no fill rows: skip the look-up (one per receipt)
    had_fills = order.filled_qty or order.status not in (S.PENDING, S.SUBMITTED)
    if had_fills and step.tx.has_fill(order.order_id, execution.exec_id):
        return
    if order.filled_qty + execution.last_qty > order.qty:
        log.error(
            "broker reported more than the order quantity",
            order_id=order.order_id,
            exec_id=execution.exec_id,
        )
        return
    # the fee is booked in the account's currency, recorded (not booked) in any other
    booked, foreign, currency = execution.commission, ZERO, execution.fee_currency
    if currency is None or currency == account_currency or not booked:
        currency = None
    else:
        booked, foreign = ZERO, execution.commission
    step.record_fill(
        order,
        Fill(
            exec_id=execution.exec_id,
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            last_qty=execution.last_qty,
            last_px=execution.last_px,
            ts=execution.ts,
            liquidity=execution.liquidity,
            late=order.status in (S.CANCELED, S.EXPIRED),
            commission=booked,
            foreign_fee=foreign,
            foreign_fee_currency=currency,
        ),
        broker_order_id or None,
    )


def _apply_final_status(step: Step, order: Order, view: BrokerOrder, now: datetime) -> None:
    ts = view.ts or now
    try:
        if view.status is S.ACCEPTED and order.status is S.SUBMITTED:
            step.record(order, OrderAccepted(ts=ts, broker_order_id=view.broker_order_id))
        elif view.status is S.CANCELED and order.status.is_open:
            reason = order.reason or view.reason or "broker"
            step.record(order, OrderCanceled(ts=ts, reason=reason))
        elif view.status is S.EXPIRED and order.status.is_open:
            step.record(order, OrderExpired(ts=ts))
        elif view.status is S.REJECTED and order.status.is_open and order.filled_qty == Decimal(0):
            message = view.reason or "rejected by the broker"
            step.record(
                order, OrderRejected(ts=ts, code=ErrorCode.E_EXEC_BROKER_REJECTED, message=message)
            )
    except IllegalTransition as exc:
        log.warning(
            "broker status not applied",
            order_id=order.order_id,
            ours=order.status.value,
            broker=view.status.value,
            error=str(exc),
        )
