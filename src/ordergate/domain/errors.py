"""The one table of error codes, and the exceptions that carry them.

Every rejection ordergate gives names a code from :class:`ErrorCode`. A code has a
meaning a trader can act on, a ``retryable`` flag — sending the intent again *later*
can succeed — and a ``keeps_key`` flag: whether the rejection keeps its idempotency
key (DESIGN.md, submit path step 2). Validation errors and conditions a retry can cure
before anything was sent (no market data yet, a full queue, an open circuit, a store
that said no) leave the key free, so the same request can be sent again with the same
key; every other outcome keeps it, and the key returns that outcome from then on (send
again with a new key). Either way the earlier attempt stays in the append-only record.

Exception tree (one line per leaf)::

    OrderGateError                      code, retryable, context
    ├── InvalidIntent                   E_INTENT_* : the intent itself is wrong
    ├── IdempotencyConflict             E_EXEC_IDEMPOTENCY_CONFLICT
    ├── PersistenceError                E_EXEC_PERSISTENCE : the store said no; nothing sent
    ├── SentUnrecorded                  E_EXEC_SENT_UNRECORDED : sent, the answer not recorded
    ├── IllegalTransition               E_ORDER_ILLEGAL_TRANSITION : FROM -> TO not in the table
    ├── OrderNotFound                   E_ORDER_NOT_FOUND
    ├── OrderNotCancelable              E_ORDER_NOT_CANCELABLE
    ├── OrderNotModifiable              E_ORDER_NOT_MODIFIABLE
    ├── ConfigError                     E_CONFIG_INVALID
    └── BrokerError                     raised by adapters, translated from SDK errors
        ├── BrokerRejected              E_EXEC_BROKER_REJECTED (definitive no)
        ├── BrokerTimeout               E_EXEC_BROKER_TIMEOUT (outcome unknown)
        └── BrokerUnavailable           E_EXEC_BROKER_UNAVAILABLE (not received)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


@dataclass(frozen=True, slots=True)
class _Code:
    meaning: str
    retryable: bool
    #: The rejection keeps the idempotency key (False: the same key may be sent again).
    keeps_key: bool = True


class ErrorCode(Enum):
    """Every error code ordergate emits, with its meaning and whether a retry can help."""

    # --- the intent ---
    E_INTENT_INVALID = _Code(
        "The intent is malformed: a field is missing or has a bad value", False, keeps_key=False
    )
    E_INTENT_EXPIRED = _Code("The intent expired before it could be sent", False, keeps_key=False)
    # --- execution (seed 000 codes first) ---
    E_EXEC_IDEMPOTENCY_CONFLICT = _Code(
        "The idempotency key was already used for a different intent", False
    )
    E_EXEC_BROKER_REJECTED = _Code("The broker rejected the order", False)
    E_EXEC_BROKER_TIMEOUT = _Code("The broker did not answer in time; outcome unknown", True)
    E_EXEC_CIRCUIT_OPEN = _Code(
        "The broker circuit breaker is open; calls are blocked", True, keeps_key=False
    )
    E_EXEC_PERSISTENCE = _Code(
        "The store could not record the order; nothing was sent", True, keeps_key=False
    )
    E_EXEC_BROKER_UNAVAILABLE = _Code("The broker could not be reached; nothing was received", True)
    E_EXEC_RETRIES_EXHAUSTED = _Code("Every submit attempt failed; the order was not placed", True)
    E_EXEC_QUEUE_FULL = _Code("The submit queue is full; send again later", True, keeps_key=False)
    E_EXEC_NO_MARKET_DATA = _Code(
        "No price is known for the symbol; mark it first", True, keeps_key=False
    )
    E_EXEC_SENT_UNRECORDED = _Code(
        "The order was sent to the broker but its answer could not be recorded: it may be "
        "working or filled — do not send it elsewhere; resend with the same idempotency "
        "key to read its outcome once recovery has recorded it",
        True,
    )
    # --- orders ---
    E_ORDER_NOT_FOUND = _Code("No such order", False)
    E_ORDER_NOT_CANCELABLE = _Code("The order is already final and cannot be canceled", False)
    E_ORDER_ILLEGAL_TRANSITION = _Code("The order cannot move between these statuses", False)
    E_ORDER_OVERFILL = _Code("A fill would take the order past its quantity", False)
    E_ORDER_NOT_MODIFIABLE = _Code(
        "The order cannot be modified now: it is final, being canceled, not yet working at"
        " the broker, or another replace of it is pending",
        False,
    )
    E_ORDER_MODIFY_INVALID = _Code(
        "The modify is invalid: no change, a quantity at or below what has filled, or a"
        " price the order type does not have",
        False,
        keeps_key=False,
    )
    # --- pre-trade gates ---
    E_RISK_KILL_SWITCH = _Code("A kill switch is active", False)
    E_RISK_TRADING_HALTED = _Code("Trading is halted", False)
    E_RISK_REDUCE_ONLY = _Code("Only orders that reduce exposure are allowed now", False)
    E_RISK_DAILY_LOSS = _Code("The daily loss limit is reached", False)
    E_RISK_DRAWDOWN = _Code("The daily drawdown limit is reached", False)
    E_RISK_MAX_TRADES = _Code("The maximum number of trades per day is reached", False)
    E_RISK_MAX_TRADES_STRATEGY = _Code("The strategy's maximum trades per day is reached", False)
    E_RISK_LOSS_STREAK = _Code("The maximum number of consecutive losses is reached", False)
    E_RISK_NOT_TRADABLE = _Code("The instrument is not on the tradable list", False)
    E_RISK_TICK_SIZE = _Code("The price is not a multiple of the tick size", False, keeps_key=False)
    E_RISK_LOT_SIZE = _Code(
        "The quantity is not a multiple of the lot size", False, keeps_key=False
    )
    E_RISK_MIN_QTY = _Code("The quantity is below the instrument minimum", False)
    E_RISK_MAX_QTY = _Code("The quantity is above the maximum order quantity", False)
    E_RISK_MAX_NOTIONAL = _Code("The order notional is above the maximum", False)
    E_RISK_PRICE_BAND = _Code("The price is too far from the last mark", False)
    E_RISK_BUYING_POWER = _Code("Not enough buying power or margin", False)
    E_RISK_DUPLICATE_ORDER = _Code("The same order was sent moments ago", False)
    # --- operations ---
    E_CONFIG_INVALID = _Code("A setting has a bad value", False, keeps_key=False)
    E_RECONCILE_NOT_FOUND = _Code("No such reconciliation report", False)
    # --- the HTTP service ---
    E_API_UNAUTHORIZED = _Code(
        "A valid bearer token is required for this route", False, keeps_key=False
    )
    E_API_NOT_FOUND = _Code(
        "No such route, or the method is not allowed on it", False, keeps_key=False
    )
    E_API_TOO_LARGE = _Code(
        "The request body is larger than the service accepts", False, keeps_key=False
    )
    E_API_INTERNAL = _Code(
        "Unexpected server error; resend with the same idempotency key to learn the outcome",
        True,
    )
    E_INTENT_CONTAINS_SECRET = _Code(
        "The request carries a credential of this service (the API token) outside the"
        " Authorization header; it was refused and not recorded",
        False,
    )
    E_API_NOT_READY = _Code(
        "The service cannot take orders now: the store cannot write or the broker cannot"
        " be reached (GET /readyz says which)",
        True,
    )

    @property
    def meaning(self) -> str:
        return self.value.meaning

    @property
    def retryable(self) -> bool:
        return self.value.retryable

    @property
    def keeps_key(self) -> bool:
        """Whether a rejection with this code keeps its idempotency key."""
        return self.value.keeps_key


class OrderGateError(Exception):
    """Base of every ordergate error: a code, a message a trader can act on, context."""

    default_code: ErrorCode = ErrorCode.E_INTENT_INVALID

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message = message
        self.context: dict[str, Any] = dict(context or {})
        super().__init__(f"{self.code.name}: {message}")

    @property
    def retryable(self) -> bool:
        return self.code.retryable

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.name,
            "message": self.message,
            "retryable": self.retryable,
            "context": {k: str(v) for k, v in self.context.items()},
        }


class InvalidIntent(OrderGateError):
    default_code = ErrorCode.E_INTENT_INVALID

    def __init__(self, field: str, message: str, *, code: ErrorCode | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}", code=code, context={"field": field})

    def inside(self, prefix: str) -> InvalidIntent:
        """The same error with its field named inside ``prefix`` (``intents[3].qty``)."""
        reason = self.message.removeprefix(f"{self.field}: ")
        return InvalidIntent(f"{prefix}.{self.field}", reason, code=self.code)


class IdempotencyConflict(OrderGateError):
    default_code = ErrorCode.E_EXEC_IDEMPOTENCY_CONFLICT


class PersistenceError(OrderGateError):
    default_code = ErrorCode.E_EXEC_PERSISTENCE


class SentUnrecorded(OrderGateError):
    """After the broker was called, recording what it answered failed (disk full, the
    database gone). The order exists at the broker, or may: never "nothing was sent".
    Its intent and ``SUBMITTED`` state were durable before the call, so the same key
    replays it, and tracking or startup recovery records the answer by looking the
    order up by ``client_order_id`` once the store can write."""

    default_code = ErrorCode.E_EXEC_SENT_UNRECORDED


class IllegalTransition(OrderGateError):
    default_code = ErrorCode.E_ORDER_ILLEGAL_TRANSITION


class OrderNotFound(OrderGateError):
    default_code = ErrorCode.E_ORDER_NOT_FOUND


class OrderNotCancelable(OrderGateError):
    default_code = ErrorCode.E_ORDER_NOT_CANCELABLE


class OrderNotModifiable(OrderGateError):
    default_code = ErrorCode.E_ORDER_NOT_MODIFIABLE


class ConfigError(OrderGateError):
    default_code = ErrorCode.E_CONFIG_INVALID


class BrokerError(OrderGateError):
    default_code = ErrorCode.E_EXEC_BROKER_UNAVAILABLE


class BrokerRejected(BrokerError):
    default_code = ErrorCode.E_EXEC_BROKER_REJECTED


class BrokerTimeout(BrokerError):
    default_code = ErrorCode.E_EXEC_BROKER_TIMEOUT


class BrokerUnavailable(BrokerError):
    default_code = ErrorCode.E_EXEC_BROKER_UNAVAILABLE


def format_reason(code: ErrorCode, **context: object) -> str:
    """``E_RISK_DAILY_LOSS: realized=-5012.40 limit=-5000`` — a code with key=value context."""
    parts = " ".join(f"{k}={v}" for k, v in context.items())
    return f"{code.name}: {parts}" if parts else code.name
