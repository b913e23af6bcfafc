"""Order events: past tense, frozen, the only way an order changes.

Each event names the status it leads to (or ``None`` when it changes no status, as a
failed submit attempt that will be retried) and its topic on the bus. Topics are
dotted and take the configured prefix (``ordergate.`` by default) when published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ErrorCode
from ordergate.domain.fills import Fill
from ordergate.domain.frozen import fast_init

#: Version of every event payload; bumped when a payload's shape changes.
SCHEMA_VERSION = 1

#: One topic per status change (DESIGN.md): PENDING is the persisted intent.
STATUS_TOPICS: dict[OrderStatus, str] = {
    OrderStatus.PENDING: "orders.intent",
    OrderStatus.SUBMITTED: "orders.submitted",
    OrderStatus.ACCEPTED: "orders.accepted",
    OrderStatus.PARTIALLY_FILLED: "orders.partially_filled",
    OrderStatus.FILLED: "orders.filled",
    OrderStatus.PENDING_CANCEL: "orders.pending_cancel",
    OrderStatus.CANCELED: "orders.canceled",
    OrderStatus.REJECTED: "orders.rejected",
    OrderStatus.EXPIRED: "orders.expired",
    OrderStatus.FAILED: "orders.failed",
}
EXECUTION_REPORT_TOPIC = "executions.report"
#: The broker busted (FIX ExecType H) or corrected (G, or a late commission) a booked fill.
FILL_BUSTED_TOPIC = "executions.busted"
FILL_CORRECTED_TOPIC = "executions.corrected"
SUBMIT_ATTEMPT_TOPIC = "orders.submit_attempt"
#: A modify's replace: persisted before the broker hears of it, then confirmed or refused.
REPLACE_REQUESTED_TOPIC = "orders.replace_requested"
REPLACED_TOPIC = "orders.replaced"
REPLACE_REJECTED_TOPIC = "orders.replace_rejected"
#: A broker's circuit breaker opened (once per opening, not per refused order).
CIRCUIT_OPEN_TOPIC = "ops.broker.circuit_open"
#: A kill switch set by the engine itself (a circuit breaker that stays open).
KILL_SWITCH_TRIPPED_TOPIC = "risk.kill_switch_tripped"
#: An intent passed the gates with advisories (a kill switch in WARNING): a person should look.
RISK_WARNING_TOPIC = "risk.warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCreated:
    ts: datetime


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitted:
    ts: datetime
    attempt: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitAttemptFailed:
    """A submit attempt failed and may be retried; no status changes."""

    ts: datetime
    attempt: int
    code: ErrorCode
    message: str


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted:
    ts: datetime
    broker_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected:
    ts: datetime
    code: ErrorCode
    message: str


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled:
    ts: datetime
    fill: Fill
    #: the broker's id, when the fill is the first thing it tells us (no separate ack)
    broker_order_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FillAmended:
    """The broker busted a booked fill (``after`` is None) or corrected it (``after`` has
    the figures it stands at now, under the same ``exec_id``)."""

    ts: datetime
    before: Fill
    after: Fill | None
    #: the broker's id of the bust or correction (FIX ExecID of the 150=H / G report)
    amend_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelRequested:
    ts: datetime
    reason: str = "user"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelRejected:
    """The broker refused a cancel: the order goes back to working."""

    ts: datetime
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCanceled:
    ts: datetime
    reason: str = "user"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired:
    ts: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFailed:
    ts: datetime
    code: ErrorCode
    message: str


class ReplaceKind(StrEnum):
    """How a pending replace reaches the broker (from its ``capabilities.modify``)."""

    #: the broker changes the working order in place; it keeps its client order id
    IN_PLACE = "IN_PLACE"
    #: a new order (the replacement, under the replace's client order id) takes over once
    #: the old one is confirmed canceled: the broker's cancel-replace, or the engine's
    #: own cancel-then-submit where the broker has no modify at all
    NEW_ORDER = "NEW_ORDER"


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingReplace:
    """A replace persisted but not yet settled; kept on the order until it is."""

    number: int
    #: the replace's own client order id (``<client_order_id>.r<number>`` where it fits)
    client_order_id: str
    kind: ReplaceKind
    #: the order's terms once replaced (qty is the new *total* quantity)
    qty: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    #: the modify command's idempotency key and the digest of its change
    key: str
    digest: str
    ts: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceRequested:
    """A modify accepted by the engine; the order keeps its status while it is pending."""

    ts: datetime
    replace: PendingReplace


@dataclass(frozen=True, slots=True, kw_only=True)
class Replaced:
    """The broker confirmed the pending replace: in place, the order's terms change now;
    with a new order, the old one (canceled) hands over to ``replacement_order_id``."""

    ts: datetime
    replacement_order_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceRejected:
    """The pending replace did not happen (the broker or venue refused it, or the order
    ended first); the order keeps the terms it had."""

    ts: datetime
    code: ErrorCode
    message: str


OrderEvent = (
    OrderCreated
    | OrderSubmitted
    | SubmitAttemptFailed
    | OrderAccepted
    | OrderRejected
    | OrderFilled
    | FillAmended
    | OrderCancelRequested
    | OrderCancelRejected
    | OrderCanceled
    | OrderExpired
    | OrderFailed
    | ReplaceRequested
    | Replaced
    | ReplaceRejected
)
