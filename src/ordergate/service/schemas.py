"""Shapes for the OpenAPI document.

Routes build their JSON by hand (Decimals as strings, no float anywhere) and read
money-bearing bodies with :mod:`ordergate.service.body`; these models *describe*
those bodies for clients, for schema-driven fuzzing and for ``/docs``. Numbers are
documented as strings (or JSON numbers for input, parsed exactly).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Money = str | None
DecimalIn = str | int | float
_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/@#+=-]{0,127}$"
#: Printable text: no C0, DEL or C1 control character (as intents' text fields).
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"
#: Printable and not blank.
_STATED = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"


class IntentIn(BaseModel):
    """An order intent (``POST /v1/intents``). Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    idempotency_key: str | None = Field(
        None, pattern=_ID, description="Or send the Idempotency-Key header"
    )
    symbol: str = Field(examples=["AAPL"])
    side: Literal["BUY", "SELL", "buy", "sell"]
    qty: DecimalIn = Field(description="Decimal quantity; a string keeps it exact")
    order_type: Literal["MARKET", "LIMIT", "STOP", "STOP_LIMIT"] | None = None
    limit_price: DecimalIn | None = None
    stop_price: DecimalIn | None = None
    time_in_force: Literal["DAY", "GTC", "IOC", "FOK", "GTD"] | None = None
    expire_at: str | None = Field(None, description="ISO 8601 with offset")
    account_id: str | None = Field(None, pattern=_ID)
    strategy_id: str | None = Field(None, pattern=_ID)
    product: str | None = None
    variety: str | None = None
    tag: str | None = None
    reason: str | None = None
    confidence: DecimalIn | None = None
    sl_offset_pct: DecimalIn | None = None
    tp_offset_pct: DecimalIn | None = None
    decision_id: str | None = None
    profile_version_id: str | None = None
    regime_id: str | None = None
    universe_id: str | None = None
    metadata: dict[str, Any] | None = None
    algo: dict[str, Any] | None = Field(
        None,
        description="An execution algorithm: the intent is a parent order worked through "
        'children, e.g. {"kind": "twap", "horizon_s": 600, "slices": 10}; kinds twap, vwap, '
        "pov, iceberg",
    )


class BasketIn(BaseModel):
    """Several intents at once (``POST /v1/baskets``): recorded and gated together."""

    model_config = ConfigDict(extra="forbid")

    intents: list[IntentIn] = Field(min_length=1, max_length=500)


class ErrorDetail(BaseModel):
    code: str = Field(examples=["E_EXEC_IDEMPOTENCY_CONFLICT"])
    message: str
    retryable: bool
    context: dict[str, str]


class ErrorOut(BaseModel):
    error: ErrorDetail


class FillOut(BaseModel):
    exec_id: str
    last_qty: str
    last_px: str
    commission: str
    ts: str
    late: bool


class ReportOut(BaseModel):
    """Seed 000's ExecutionReport; ``replayed`` is true when the key was seen before."""

    order_id: str
    client_order_id: str
    status: str
    fills: list[FillOut]
    filled_qty: str
    avg_price: Money
    fees: str
    slippage: Money
    raw_broker_ref: str | None
    error_code: str | None
    error_message: str | None
    late: bool
    replayed: bool


class ModifyIn(BaseModel):
    """A modify (``POST /v1/orders/{id}/modify``): at least one term. Unknown fields
    are refused; numbers are read exactly (send strings to be sure)."""

    model_config = ConfigDict(extra="forbid")

    qty: DecimalIn | None = Field(None, description="The new total quantity, above what filled")
    limit_price: DecimalIn | None = None
    stop_price: DecimalIn | None = None
    idempotency_key: str | None = Field(
        None, pattern=_ID, description="Or send the Idempotency-Key header"
    )


class ReplaceOut(BaseModel):
    """What became of the modify's replace."""

    number: int
    client_order_id: str
    kind: Literal["IN_PLACE", "NEW_ORDER"]
    key: str
    state: Literal["pending", "replaced", "rejected"]
    replacement_order_id: str | None
    qty: str
    limit_price: Money
    stop_price: Money


class ModifyOut(ReportOut):
    """The order after the modify, and its replace."""

    replace: ReplaceOut


class BasketOut(BaseModel):
    """One report per intent of the basket, in its order."""

    reports: list[ReportOut]


class OrderOut(BaseModel):
    order_id: str
    client_order_id: str
    broker_order_id: str | None
    idempotency_key: str
    account_id: str
    strategy_id: str
    symbol: str
    side: str
    qty: str
    order_type: str
    limit_price: Money
    stop_price: Money
    time_in_force: str
    status: str
    filled_qty: str
    avg_fill_price: Money
    fees: str
    late: bool
    reason: str | None
    error_code: str | None
    error_message: str | None
    created_at: str
    updated_at: str


class EventOut(BaseModel):
    seq: int
    topic: str
    from_status: str | None = Field(alias="from")
    to_status: str | None = Field(alias="to")
    ts: str


class OrderDetailOut(OrderOut):
    fills: list[FillOut]
    events: list[EventOut]


class OrdersPage(BaseModel):
    orders: list[OrderOut]
    limit: int
    offset: int
    next_offset: int | None


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("user", max_length=256, pattern=PRINTABLE)


class MarkIn(BaseModel):
    symbol: str
    last: DecimalIn
    bid: DecimalIn | None = None
    ask: DecimalIn | None = None
    volume: DecimalIn | None = None


class ReadyOut(BaseModel):
    """``GET /readyz`` when every part is ready."""

    status: Literal["ready"]
    checks: dict[str, Literal["ok"]]


class KillSwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["GLOBAL", "SYMBOL", "STRATEGY", "RISK_LIMIT", "MANUAL"]
    target: str = Field("*", max_length=128, pattern=PRINTABLE)
    state: Literal["ACTIVE", "WARNING", "OFF"] = "ACTIVE"
    reason: str = Field(min_length=1, max_length=512, pattern=_STATED)
    actor: str = Field("api", min_length=1, max_length=128, pattern=_STATED)


class TradingIn(BaseModel):
    """Set the trading state, the posture, or both; who and why are recorded."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["NORMAL", "REDUCING", "HALTED"] | None = Field(
        None, description="HALTED: no new orders (cancels pass); REDUCING: only reducing ones"
    )
    posture: Literal["NORMAL", "EMERGENCY"] | None = Field(
        None, description="EMERGENCY: only exposure-reducing orders pass"
    )
    actor: str = Field(min_length=1, max_length=128, pattern=_STATED)
    reason: str = Field(min_length=1, max_length=512, pattern=_STATED)


class ControlOut(BaseModel):
    value: str
    actor: str
    reason: str
    at: str


class TradingOut(BaseModel):
    state: ControlOut
    posture: ControlOut


class KillSwitchOut(BaseModel):
    kind: str
    target: str
    state: str
    reason: str
    actor: str
    updated_at: str
