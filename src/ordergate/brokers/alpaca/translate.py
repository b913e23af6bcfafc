"""Alpaca's JSON <-> our wire types.

Alpaca's REST and stream answer quantities and prices as JSON strings: they become
``Decimal`` here without a float in between. The way *in* is alpaca-py's request
models, which hold floats: :func:`as_float` refuses (before anything is sent) a value
whose float does not print back as the same decimal.

Executions: an Alpaca order carries only ``filled_qty``; its executions come from the
stream's fill events and the account's FILL activities. Both name the cumulative
quantity after the fill (the order's ``filled_qty`` / the activity's ``cum_qty``), so an
execution's id is ``<order id>:<cumulative qty>`` — the same whichever source told us
first, so the engine never books one fill twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import BrokerRejected, ErrorCode
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.wire import BrokerOrder, Execution

#: Alpaca's 18 statuses (alpaca-py ``OrderStatus``) onto ours; unknown ones stay open
_STATUS = {
    "pending_new": OrderStatus.SUBMITTED,
    "accepted": OrderStatus.SUBMITTED,
    "accepted_for_bidding": OrderStatus.SUBMITTED,
    "pending_review": OrderStatus.SUBMITTED,
    "new": OrderStatus.ACCEPTED,
    "held": OrderStatus.ACCEPTED,
    "pending_replace": OrderStatus.ACCEPTED,
    "done_for_day": OrderStatus.ACCEPTED,  # not final: it may work again tomorrow
    "stopped": OrderStatus.ACCEPTED,
    "suspended": OrderStatus.ACCEPTED,
    "calculated": OrderStatus.ACCEPTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "pending_cancel": OrderStatus.PENDING_CANCEL,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "replaced": OrderStatus.CANCELED,  # closed here; its successor is ``replaced_by``
    "rejected": OrderStatus.REJECTED,
    "expired": OrderStatus.EXPIRED,
}
_TYPES = {
    "market": OrderType.MARKET,
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP,
    "stop_limit": OrderType.STOP_LIMIT,
}
_TIF = {
    "day": TimeInForce.DAY,
    "gtc": TimeInForce.GTC,
    "ioc": TimeInForce.IOC,
    "fok": TimeInForce.FOK,
}
ALPACA_TIF = {ours: theirs for theirs, ours in _TIF.items()}
ALPACA_TYPE = {ours: theirs for theirs, ours in _TYPES.items()}
#: order fields never kept in a receipt (none carries a credential today; the account
#: number must not travel even if Alpaca starts to send it)
_NOT_KEPT = frozenset({"account_number", "account_id"})


def dec(value: Any) -> Decimal | None:
    """Alpaca's number (a JSON string, or a float from the data API) as a Decimal."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def parse_ts(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def as_float(value: Decimal, field: str) -> float:
    """``value`` as the float alpaca-py sends, refused when that float is another number."""
    number = float(value)
    if Decimal(repr(number)) != value:
        raise BrokerRejected(
            f"{field} {fmt(value)} does not survive alpaca-py's float ({number!r}); "
            "send it with fewer digits",
            code=ErrorCode.E_INTENT_INVALID,
            context={"field": field},
        )
    return number


def exec_id(order_id: str, cum_qty: Decimal) -> str:
    return f"{order_id}:{fmt(cum_qty)}"


def execution(order_id: str, *, cum: Decimal, qty: Decimal, px: Decimal, ts: datetime) -> Execution:
    return Execution(exec_id=exec_id(order_id, cum), last_qty=qty, last_px=px, ts=ts)


def executions_up_to(known: Mapping[Decimal, Execution], filled: Decimal) -> tuple[Execution, ...]:
    """The executions (by cumulative qty) that make up ``filled``, oldest first."""
    return tuple(known[cum] for cum in sorted(known) if cum <= filled)


def to_broker_order(
    raw: Mapping[str, Any], executions: Iterable[Execution], *, account_id: str | None
) -> BrokerOrder:
    """One Alpaca order; ``executions`` are the ones its ``filled_qty`` is made of."""
    fills = tuple(executions)
    filled = sum((e.last_qty for e in fills), ZERO)
    avg = sum((e.last_qty * e.last_px for e in fills), ZERO) / filled if filled else None
    status = _STATUS.get(str(raw.get("status")), OrderStatus.SUBMITTED)
    if status is OrderStatus.ACCEPTED and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    reason = ""
    if raw.get("status") == "replaced":
        reason = f"replaced by Alpaca order {raw.get('replaced_by')}"
    kept = {k: v for k, v in raw.items() if k not in _NOT_KEPT}
    return BrokerOrder(
        client_order_id=str(raw["client_order_id"]),
        broker_order_id=str(raw["id"]),
        status=status,
        symbol=str(raw["symbol"]),
        side=Side.BUY if raw.get("side") == "buy" else Side.SELL,
        qty=dec(raw.get("qty")) or ZERO,
        filled_qty=filled,
        avg_price=avg,
        executions=fills,
        reason=reason,
        ts=parse_ts(raw.get("updated_at") or raw.get("submitted_at")),
        order_type=_TYPES.get(str(raw.get("type") or raw.get("order_type"))),
        time_in_force=_TIF.get(str(raw.get("time_in_force"))),
        limit_price=dec(raw.get("limit_price")),
        stop_price=dec(raw.get("stop_price")),
        account_id=account_id,
        raw=kept,
    )
