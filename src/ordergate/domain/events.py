"""Order events: past tense, frozen, the only way an order changes.

Each event names the status it leads to (or ``None`` when it changes no status, as a
failed submit attempt that will be retried) and its topic on the bus. Topics are
dotted and take the configured prefix (``ordergate.`` by default) when published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ErrorCode
from ordergate.domain.fills import Fill

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
SUBMIT_ATTEMPT_TOPIC = "orders.submit_attempt"
#: A broker's circuit breaker opened (once per opening, not per refused order).
CIRCUIT_OPEN_TOPIC = "ops.broker.circuit_open"
#: A kill switch set by the engine itself (a circuit breaker that stays open).
KILL_SWITCH_TRIPPED_TOPIC = "risk.kill_switch_tripped"
#: An intent passed the gates with advisories (a kill switch in WARNING): a person should look.
RISK_WARNING_TOPIC = "risk.warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCreated:
    ts: datetime


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


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted:
    ts: datetime
    broker_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected:
    ts: datetime
    code: ErrorCode
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled:
    ts: datetime
    fill: Fill
    #: the broker's id, when the fill is the first thing it tells us (no separate ack)
    broker_order_id: str | None = None


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


OrderEvent = (
    OrderCreated
    | OrderSubmitted
    | SubmitAttemptFailed
    | OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderCancelRequested
    | OrderCancelRejected
    | OrderCanceled
    | OrderExpired
    | OrderFailed
)
