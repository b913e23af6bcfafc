"""ib_async's trades and fills to :class:`BrokerOrder` (BROKERS.md B5).

IB's statuses onto ours:

- ``PendingSubmit``, ``ApiPending``, ``PreSubmitted`` → ``SUBMITTED``;
- ``Submitted`` → ``ACCEPTED``, or ``PARTIALLY_FILLED`` once it has executions;
- ``Filled`` → ``FILLED`` once every execution is in (else still partial);
- ``PendingCancel`` → ``PENDING_CANCEL``;
- ``Cancelled`` / ``ApiCancelled`` → ``CANCELED``, or ``REJECTED`` when an error (not a
  cancel confirmation) ended the order before it worked; ``Inactive`` → ``REJECTED``;
- ``ValidationError`` is ib_async's mark for a *warning*: the order is live.

An execution is reported once its commission report is in (or ``commission_wait_s``
after it arrived): the engine books a fill once, with its commission. One whose
commission is in is reported as the final word on its figures (``Amend.CORRECT``):
a fill the engine booked without its commission (overdue, or across a restart) takes
it then, once; one booked with it is left alone. Every quantity and price is a
:class:`Decimal` made from the float's printed form.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal

from ib_async import Fill, Trade

from ordergate.brokers.ibkr.contracts import decimal_of
from ordergate.brokers.ibkr.errors import CANCEL_CONFIRMED, is_warning
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.fills import Amend
from ordergate.domain.money import ZERO
from ordergate.domain.wire import BrokerOrder, Execution

_TYPES = {"MKT": OrderType.MARKET, "LMT": OrderType.LIMIT, "STP": OrderType.STOP}
_TYPES["STP LMT"] = OrderType.STOP_LIMIT
IB_ORDER_TYPES = {v: k for k, v in _TYPES.items()}
_TIFS = {t.value: t for t in TimeInForce}
_SUBMITTED = frozenset({"PendingSubmit", "ApiPending", "PreSubmitted"})
UNSET = 1.7976931348623157e308  # ib_async's UNSET_DOUBLE


def client_order_id_of(trade: Trade) -> str:
    """Our id (the ``orderRef``); an order made at TWS has none: ``ib`` + permId."""
    return trade.order.orderRef or f"ib{trade.order.permId}"


def executions_of(
    fills: Iterable[Fill], released: Callable[[Fill], bool]
) -> tuple[tuple[Execution, ...], Decimal]:
    """The fills ready to report (deduped by execId) and the shares still waiting
    for their commission."""
    seen: dict[str, Execution] = {}
    waiting = ZERO
    for fill in fills:
        ex = fill.execution
        if ex.execId in seen:
            continue
        if not released(fill):
            waiting += decimal_of(ex.shares)
            continue
        seen[ex.execId] = Execution(
            exec_id=ex.execId,
            last_qty=decimal_of(ex.shares),
            last_px=decimal_of(ex.price),
            ts=ex.time if isinstance(ex.time, datetime) else fill.time,
            commission=decimal_of(fill.commissionReport.commission),
            liquidity={1: "ADDED", 2: "REMOVED"}.get(ex.lastLiquidity, ""),
            amend=Amend.CORRECT if fill.commissionReport.execId else Amend.NONE,
        )
    return tuple(seen.values()), waiting


def error_of(trade: Trade) -> tuple[int, str] | None:
    """The error (not a warning, not a cancel confirmation) that ended the order."""
    for entry in reversed(trade.log):
        code = entry.errorCode
        if code and code != CANCEL_CONFIRMED and not is_warning(code):
            return code, entry.message
    return None


def status_of(trade: Trade, filled: Decimal, qty: Decimal, *, completed: str = "") -> OrderStatus:
    ib = completed or trade.orderStatus.status
    if ib in _SUBMITTED:
        return OrderStatus.SUBMITTED
    if ib == "PendingCancel":
        return OrderStatus.PENDING_CANCEL
    if ib == "Filled" and filled >= qty:
        return OrderStatus.FILLED
    if ib == "Inactive":
        return OrderStatus.REJECTED
    if ib in ("Cancelled", "ApiCancelled"):
        if filled == ZERO and error_of(trade) is not None and not _worked(trade):
            return OrderStatus.REJECTED
        return OrderStatus.CANCELED
    return OrderStatus.PARTIALLY_FILLED if filled > ZERO else OrderStatus.ACCEPTED


def _worked(trade: Trade) -> bool:
    return any(entry.status in ("Submitted", "PreSubmitted") for entry in trade.log)


def price_of(value: float | Decimal | None) -> Decimal | None:
    """A price ib_async holds (a float, ``UNSET_DOUBLE``, NaN or None) as a decimal."""
    if value is None or math.isnan(value) or value in (UNSET, 0):
        return None
    return value if isinstance(value, Decimal) else decimal_of(value)


def to_broker_order(
    trade: Trade,
    fills: Iterable[Fill],
    *,
    symbol: str,
    released: Callable[[Fill], bool],
    account_id: str | None,
    redact: Callable[[str], str],
    parent_client_order_id: str | None = None,
    completed_status: str = "",
) -> BrokerOrder:
    order = trade.order
    qty = decimal_of(order.totalQuantity)
    executions, waiting = executions_of(fills, released)
    filled = sum((e.last_qty for e in executions), ZERO)
    avg = sum((e.last_qty * e.last_px for e in executions), ZERO) / filled if filled else None
    status = status_of(trade, filled, qty, completed=completed_status)
    error = error_of(trade)
    reason = "" if error is None else redact(f"IB error {error[0]}: {error[1]}")
    ib_status = completed_status or trade.orderStatus.status
    raw: dict[str, object] = {
        "orderId": order.orderId,
        "permId": order.permId,
        "clientId": order.clientId,
        "parentId": order.parentId,
        "ocaGroup": order.ocaGroup,
        "status": ib_status,
        "filled": str(decimal_of(trade.orderStatus.filled)),
    }
    if waiting:
        raw["awaiting_commission"] = str(waiting)
    if ib_status == "Filled" and filled + waiting < qty:
        # IB keeps executions only since midnight: the rest is a reconcile matter
        raw["executions_missing"] = str(qty - filled - waiting)
    if reason:
        raw["error"] = reason
    return BrokerOrder(
        client_order_id=client_order_id_of(trade),
        broker_order_id=str(order.permId) if order.permId else f"ib-order-{order.orderId}",
        status=status,
        symbol=symbol,
        side=Side.BUY if order.action == "BUY" else Side.SELL,
        qty=qty,
        filled_qty=filled,
        avg_price=avg,
        executions=executions,
        reason=reason,
        order_type=_TYPES.get(order.orderType),
        time_in_force=_TIFS.get(order.tif),
        limit_price=price_of(order.lmtPrice) if order.orderType in ("LMT", "STP LMT") else None,
        stop_price=price_of(order.auxPrice) if order.orderType in ("STP", "STP LMT") else None,
        parent_client_order_id=parent_client_order_id,
        oco_group=order.ocaGroup or None,
        account_id=account_id,
        raw=raw,
    )
