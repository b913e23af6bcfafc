"""The order and its lifecycle: a transition table, and ``apply`` as the only mutator.

A transition missing from :data:`TRANSITIONS` raises :class:`IllegalTransition` naming
``FROM -> TO``; nothing is ever silently overwritten. Self-edges exist only where a
fill changes the filled quantity without changing the status.

A modify changes no status: its replace is pending on the order (``pending_replace``)
from ``ReplaceRequested`` until ``Replaced`` or ``ReplaceRejected``, and the statuses
each of those may happen in are the table :data:`REPLACE_EDGES`. The order's terms
(quantity, prices) change only with ``Replaced``, when the broker has confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import ErrorCode, IllegalTransition, OrderGateError
from ordergate.domain.events import (
    FillAmended,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderCreated,
    OrderEvent,
    OrderExpired,
    OrderFailed,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    PendingReplace,
    Replaced,
    ReplaceKind,
    ReplaceRejected,
    ReplaceRequested,
    SubmitAttemptFailed,
)
from ordergate.domain.fills import Fill
from ordergate.domain.money import ZERO, fmt

S = OrderStatus

#: Every legal status change, with why the odd ones exist.
TRANSITIONS: dict[tuple[OrderStatus, OrderStatus], str] = {
    (S.PENDING, S.SUBMITTED): "sent to the broker",
    (S.PENDING, S.REJECTED): "a pre-trade gate said no",
    (S.PENDING, S.FAILED): "could not be sent (circuit open, dry run, retries spent)",
    (S.PENDING, S.CANCELED): "canceled while waiting in the queue",
    (S.PENDING, S.EXPIRED): "expired while waiting in the queue",
    (S.SUBMITTED, S.ACCEPTED): "the broker acknowledged it",
    (S.SUBMITTED, S.PARTIALLY_FILLED): "a fill came before (or instead of) the ack",
    (S.SUBMITTED, S.FILLED): "filled before (or instead of) the ack",
    (S.SUBMITTED, S.REJECTED): "the broker said no",
    (S.SUBMITTED, S.PENDING_CANCEL): "cancel sent while the ack is outstanding",
    (S.SUBMITTED, S.CANCELED): "canceled (e.g. IOC with nothing to take)",
    (S.SUBMITTED, S.EXPIRED): "time in force ran out",
    (S.SUBMITTED, S.FAILED): "never reached the broker: lookup found nothing",
    (S.ACCEPTED, S.PARTIALLY_FILLED): "a partial fill",
    (S.ACCEPTED, S.FILLED): "filled",
    (S.ACCEPTED, S.PENDING_CANCEL): "cancel requested",
    (S.ACCEPTED, S.CANCELED): "canceled by the broker or venue",
    (S.ACCEPTED, S.EXPIRED): "time in force ran out",
    (S.ACCEPTED, S.REJECTED): "real-world: some venues reject after acknowledging",
    (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED): "another partial fill",
    (S.PARTIALLY_FILLED, S.FILLED): "the rest filled",
    (S.PARTIALLY_FILLED, S.PENDING_CANCEL): "cancel requested for the rest",
    (S.PARTIALLY_FILLED, S.CANCELED): "the rest canceled",
    (S.PARTIALLY_FILLED, S.EXPIRED): "the rest expired",
    (S.PENDING_CANCEL, S.PENDING_CANCEL): "a fill raced the cancel",
    (S.PENDING_CANCEL, S.FILLED): "the fill won the race against the cancel",
    (S.PENDING_CANCEL, S.CANCELED): "cancel confirmed",
    (S.PENDING_CANCEL, S.EXPIRED): "expired while the cancel was in flight",
    (S.PENDING_CANCEL, S.ACCEPTED): "cancel refused, nothing filled: working again",
    (S.PENDING_CANCEL, S.PARTIALLY_FILLED): "cancel refused after a partial fill",
    (S.CANCELED, S.CANCELED): "real-world: a partial fill reported after the cancel",
    (S.CANCELED, S.FILLED): "real-world: a late fill after a cancel or hard timeout",
    (S.EXPIRED, S.EXPIRED): "real-world: a partial fill reported after expiry",
    (S.EXPIRED, S.FILLED): "real-world: a late fill after expiry",
}


#: In which statuses each replace event may happen, and why (no status changes).
REPLACE_EDGES: dict[tuple[str, OrderStatus], str] = {
    ("ReplaceRequested", S.ACCEPTED): "working at the broker: it may be changed",
    ("ReplaceRequested", S.PARTIALLY_FILLED): "the rest is working: it may be changed",
    ("Replaced", S.ACCEPTED): "the broker changed the working order",
    ("Replaced", S.PARTIALLY_FILLED): "the broker changed the rest of the order",
    ("Replaced", S.PENDING_CANCEL): "the replace landed before a cancel sent after it",
    ("Replaced", S.CANCELED): "the old order is confirmed canceled: the new one takes over",
    ("ReplaceRejected", S.ACCEPTED): "refused: the order works on its old terms",
    ("ReplaceRejected", S.PARTIALLY_FILLED): "refused (a fill left too little to change)",
    ("ReplaceRejected", S.PENDING_CANCEL): "refused while a cancel is in flight",
    ("ReplaceRejected", S.FILLED): "the order filled before the replace could apply",
    ("ReplaceRejected", S.CANCELED): "the order ended before the replace could apply",
    ("ReplaceRejected", S.EXPIRED): "the order expired before the replace could apply",
    ("ReplaceRejected", S.REJECTED): "the venue rejected the order after acknowledging it",
}


#: How a bust or correction of a booked fill moves the order, and why. Kept apart from
#: :data:`TRANSITIONS`, where FILLED is final: only the broker taking a trade back
#: moves a filled order.
AMEND_EDGES: dict[tuple[OrderStatus, OrderStatus], str] = {
    (S.FILLED, S.FILLED): "a correction (price, fee, quantity) that leaves it filled",
    (S.FILLED, S.CANCELED): "a bust of a done order: what it lost will not fill again",
    (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED): "a bust or correction of one of its fills",
    (S.PARTIALLY_FILLED, S.ACCEPTED): "every fill busted: the order works on",
    (S.PARTIALLY_FILLED, S.FILLED): "a correction brought it to its quantity",
    (S.PENDING_CANCEL, S.PENDING_CANCEL): "amended while a cancel is in flight",
    (S.PENDING_CANCEL, S.FILLED): "a correction brought it to its quantity",
    (S.CANCELED, S.CANCELED): "a fill of a canceled order amended",
    (S.CANCELED, S.FILLED): "a correction brought it to its quantity",
    (S.EXPIRED, S.EXPIRED): "a fill of an expired order amended",
    (S.EXPIRED, S.FILLED): "a correction brought it to its quantity",
}


def amended_status(status: OrderStatus, filled: Decimal, qty: Decimal) -> OrderStatus:
    """The status an amendment leaves, by :data:`AMEND_EDGES` (raises on a miss)."""
    if filled == qty:
        target = S.FILLED
    elif status is S.FILLED:
        target = S.CANCELED
    elif status is S.PARTIALLY_FILLED and filled == 0:
        target = S.ACCEPTED
    else:
        target = status
    if (status, target) not in AMEND_EDGES:
        raise IllegalTransition(
            f"{status} -> {target} is not a legal fill amendment",
            context={"from": status, "to": target},
        )
    return target


def check_replace(event: str, status: OrderStatus) -> None:
    if (event, status) not in REPLACE_EDGES:
        raise IllegalTransition(
            f"{event} cannot happen to an order in {status}",
            context={"event": event, "status": status},
        )


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if (current, target) not in TRANSITIONS:
        raise IllegalTransition(
            f"{current} -> {target} is not a legal order transition",
            context={"from": current, "to": target},
        )


@dataclass(slots=True, kw_only=True)
class Order:
    """An order as ordergate knows it. Change it only through :meth:`apply`."""

    order_id: str
    client_order_id: str
    idempotency_key: str
    account_id: str
    strategy_id: str
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    stop_price: Decimal | None
    time_in_force: TimeInForce
    created_at: datetime
    updated_at: datetime
    status: OrderStatus = S.PENDING
    broker_order_id: str | None = None
    filled_qty: Decimal = ZERO
    avg_fill_price: Decimal | None = None
    fees: Decimal = ZERO
    late: bool = False
    reason: str = ""
    error_code: str = ""
    error_message: str = ""
    attempts: int = 0
    submitted_at: datetime | None = None
    arrival_price: Decimal | None = None
    parent_order_id: str | None = None
    #: bracket offsets of an entry order: SL/TP = fill x (1 + offset), placed on its fill
    sl_offset_pct: Decimal | None = None
    tp_offset_pct: Decimal | None = None
    version: int = 0
    #: the number of the last replace requested (0: never modified)
    replace_no: int = 0
    #: the replace persisted and not yet settled, if any
    pending_replace: PendingReplace | None = None

    def copy(self) -> Order:
        """A shallow copy (every field is immutable).

        Written out field by field: stores copy an order on every read and write, and
        this is ten times cheaper than a loop over the fields (``test_copy_is_complete``
        keeps the list whole).
        """
        c = object.__new__(Order)
        c.order_id = self.order_id
        c.client_order_id = self.client_order_id
        c.idempotency_key = self.idempotency_key
        c.account_id = self.account_id
        c.strategy_id = self.strategy_id
        c.symbol = self.symbol
        c.side = self.side
        c.qty = self.qty
        c.order_type = self.order_type
        c.limit_price = self.limit_price
        c.stop_price = self.stop_price
        c.time_in_force = self.time_in_force
        c.created_at = self.created_at
        c.updated_at = self.updated_at
        c.status = self.status
        c.broker_order_id = self.broker_order_id
        c.filled_qty = self.filled_qty
        c.avg_fill_price = self.avg_fill_price
        c.fees = self.fees
        c.late = self.late
        c.reason = self.reason
        c.error_code = self.error_code
        c.error_message = self.error_message
        c.attempts = self.attempts
        c.submitted_at = self.submitted_at
        c.arrival_price = self.arrival_price
        c.parent_order_id = self.parent_order_id
        c.sl_offset_pct = self.sl_offset_pct
        c.tp_offset_pct = self.tp_offset_pct
        c.version = self.version
        c.replace_no = self.replace_no
        c.pending_replace = self.pending_replace
        return c

    @property
    def leaves_qty(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    def apply(self, event: OrderEvent) -> OrderStatus:  # noqa: PLR0915 (one case per event)
        """Apply one event; return the status before it. Raise on an illegal change."""
        previous = self.status
        match event:
            case OrderCreated():
                raise IllegalTransition("an order is created once", context={"from": previous})
            case OrderSubmitted(ts=ts, attempt=attempt):
                self._move(S.SUBMITTED)
                self.attempts = attempt
                self.submitted_at = ts
            case SubmitAttemptFailed(attempt=attempt, code=code, message=message):
                if previous not in (S.PENDING, S.SUBMITTED):
                    raise IllegalTransition(f"a submit attempt cannot fail in {previous}")
                self.attempts = attempt
                self.error_code, self.error_message = code.name, message
            case OrderAccepted(broker_order_id=broker_order_id):
                if previous is not S.ACCEPTED:
                    self._move(S.ACCEPTED)
                self.broker_order_id = broker_order_id or self.broker_order_id
                self._submit_resolved(previous)
            case OrderRejected(code=code, message=message):
                self._move(S.REJECTED)
                self.error_code, self.error_message = code.name, message
            case OrderFilled(fill=fill, broker_order_id=broker_order_id):
                self._fill(fill)
                self.broker_order_id = self.broker_order_id or broker_order_id
                self._submit_resolved(previous)
            case FillAmended(before=before, after=after):
                self._amend(before, after)
            case OrderCancelRequested(reason=reason):
                self._move(S.PENDING_CANCEL)
                self.reason = reason
            case OrderCancelRejected(message=message):
                back = S.PARTIALLY_FILLED if self.filled_qty > 0 else S.ACCEPTED
                self._move(back)
                self.error_message = message
            case OrderCanceled(reason=reason):
                self._move(S.CANCELED)
                self.reason = reason or self.reason
            case OrderExpired():
                self._move(S.EXPIRED)
            case OrderFailed(code=code, message=message):
                self._move(S.FAILED)
                self.error_code, self.error_message = code.name, message
            case ReplaceRequested(replace=replace):
                self._request_replace(replace)
            case Replaced(replacement_order_id=replacement):
                self._replaced(replacement)
            case ReplaceRejected():
                self._replace_rejected(event)
        self.updated_at = event.ts
        self.version += 1
        return previous

    def _pending(self, event: str) -> PendingReplace:
        pending = self.pending_replace
        if pending is None:
            raise IllegalTransition(
                f"{event}: order {self.order_id} has no pending replace",
                context={"order_id": self.order_id},
            )
        return pending

    def _request_replace(self, replace: PendingReplace) -> None:
        check_replace("ReplaceRequested", self.status)
        if self.pending_replace is not None:
            raise IllegalTransition(
                f"order {self.order_id} already has replace {self.pending_replace.number} pending",
                context={"order_id": self.order_id},
            )
        if replace.number != self.replace_no + 1:
            raise IllegalTransition(
                f"replace {replace.number} of order {self.order_id} after {self.replace_no}",
                context={"order_id": self.order_id},
            )
        if replace.qty <= self.filled_qty:
            raise OrderGateError(
                f"order {self.order_id} has {fmt(self.filled_qty)} filled; a new total of "
                f"{fmt(replace.qty)} must be above it",
                code=ErrorCode.E_ORDER_MODIFY_INVALID,
                context={"order_id": self.order_id},
            )
        self.replace_no = replace.number
        self.pending_replace = replace

    def _replace_rejected(self, event: ReplaceRejected) -> None:
        check_replace("ReplaceRejected", self.status)
        self._pending("ReplaceRejected")
        self.pending_replace = None
        self.error_code, self.error_message = event.code.name, event.message

    def _replaced(self, replacement: str | None) -> None:
        check_replace("Replaced", self.status)
        pending = self._pending("Replaced")
        if replacement is None:  # in place: the terms change now
            if pending.kind is not ReplaceKind.IN_PLACE or not self.is_open:
                raise IllegalTransition(
                    f"order {self.order_id}: an in-place replace needs a working order",
                    context={"order_id": self.order_id},
                )
            if pending.qty <= self.filled_qty:
                raise OrderGateError(
                    f"order {self.order_id} has {fmt(self.filled_qty)} filled; it cannot "
                    f"be replaced to {fmt(pending.qty)}",
                    code=ErrorCode.E_ORDER_MODIFY_INVALID,
                    context={"order_id": self.order_id},
                )
            self.qty = pending.qty
            self.limit_price = pending.limit_price
            self.stop_price = pending.stop_price
        elif pending.kind is not ReplaceKind.NEW_ORDER or self.status is not S.CANCELED:
            raise IllegalTransition(
                f"order {self.order_id} hands over to a replacement only once canceled",
                context={"order_id": self.order_id},
            )
        self.pending_replace = None

    def _submit_resolved(self, previous: OrderStatus) -> None:
        """The broker has the order: a failed submit attempt's error (a timeout whose
        look-up then found it) no longer describes it. The attempt stays in the events."""
        if previous in (S.PENDING, S.SUBMITTED) and self.error_code:
            self.error_code, self.error_message = "", ""

    def _move(self, target: OrderStatus) -> None:
        check_transition(self.status, target)
        self.status = target

    def _fill(self, fill: Fill) -> None:
        if fill.last_qty <= 0:
            raise OrderGateError(
                f"fill {fill.exec_id} has quantity {fmt(fill.last_qty)}",
                code=ErrorCode.E_ORDER_OVERFILL,
            )
        filled = self.filled_qty + fill.last_qty
        if filled > self.qty:
            raise OrderGateError(
                f"fill {fill.exec_id} of {fmt(fill.last_qty)} takes order {self.order_id} to "
                f"{fmt(filled)} of {fmt(self.qty)}",
                code=ErrorCode.E_ORDER_OVERFILL,
                context={"order_id": self.order_id, "exec_id": fill.exec_id},
            )
        after_final = self.status in (S.CANCELED, S.EXPIRED)
        if filled == self.qty:
            target = S.FILLED
        elif self.status in (S.PENDING_CANCEL, S.CANCELED, S.EXPIRED):
            target = self.status
        else:
            target = S.PARTIALLY_FILLED
        self._move(target)
        previous_notional = (self.avg_fill_price or ZERO) * self.filled_qty
        self.avg_fill_price = (previous_notional + fill.notional) / filled
        self.filled_qty = filled
        self.fees += fill.commission
        if after_final or fill.late:
            self.late = True

    def _amend(self, before: Fill, after: Fill | None) -> None:
        """Take back ``before`` and book ``after`` in its place (nothing: a bust)."""
        taken = after.last_qty if after is not None else ZERO
        filled = self.filled_qty - before.last_qty + taken
        if (after is not None and taken <= 0) or filled < 0 or filled > self.qty:
            raise OrderGateError(
                f"amending fill {before.exec_id} takes order {self.order_id} to "
                f"{fmt(filled)} of {fmt(self.qty)}",
                code=ErrorCode.E_ORDER_OVERFILL,
                context={"order_id": self.order_id, "exec_id": before.exec_id},
            )
        target = amended_status(self.status, filled, self.qty)
        notional = (self.avg_fill_price or ZERO) * self.filled_qty - before.notional
        fees = self.fees - before.commission
        if after is not None:
            notional += after.notional
            fees += after.commission
        self.status = target
        self.avg_fill_price = notional / filled if filled else None
        self.filled_qty = filled
        self.fees = fees
        if target is S.CANCELED and not self.reason:
            self.reason = "bust"
