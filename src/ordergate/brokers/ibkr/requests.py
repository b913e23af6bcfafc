"""Our :class:`OrderRequest` as an ib_async ``Order`` (``orderRef`` = our id)."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from ib_async import Order

from ordergate.brokers.ibkr.contracts import Instrument, as_float, check_increments
from ordergate.brokers.ibkr.translate import IB_ORDER_TYPES
from ordergate.domain.enums import OrderType, Side, TimeInForce
from ordergate.domain.errors import BrokerRejected, ErrorCode
from ordergate.domain.wire import OrderRequest

#: OCA type 1: cancel the rest of the group, with block (no overfill)
OCA_CANCEL_WITH_BLOCK = 1


def ib_order(
    request: OrderRequest, instrument: Instrument, *, account: str, parent_id: int = 0
) -> Order:
    """The order to place; refused (before anything is sent) when a price is off IB's
    tick, the quantity off its lot, or a number would not cross the float wire intact."""
    prices: dict[str, Decimal] = {}
    if request.limit_price is not None:
        prices["limit_price"] = request.limit_price
    if request.stop_price is not None:
        prices["stop_price"] = request.stop_price
    symbol = request.symbol
    for what, price in prices.items():
        as_float(price, what, symbol)
    as_float(request.qty, "qty", symbol)
    check_increments(instrument, request.qty, prices)
    order = Order(
        action="BUY" if request.side is Side.BUY else "SELL",
        totalQuantity=as_float(request.qty, "qty", symbol),
        orderType=IB_ORDER_TYPES[request.order_type],
        tif=request.time_in_force.value,
        orderRef=request.client_order_id,
        account=account,
        transmit=True,
    )
    if request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        if request.limit_price is None:
            raise _invalid(f"a {request.order_type} order needs a limit price", request)
        order.lmtPrice = as_float(request.limit_price, "limit_price", symbol)
    if request.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
        if request.stop_price is None:
            raise _invalid(f"a {request.order_type} order needs a stop price", request)
        order.auxPrice = as_float(request.stop_price, "stop_price", symbol)
    if request.time_in_force is TimeInForce.GTD:
        if request.expire_at is None:
            raise _invalid("a GTD order needs expire_at", request)
        order.goodTillDate = request.expire_at.astimezone(UTC).strftime("%Y%m%d %H:%M:%S UTC")
    if request.display_qty is not None:
        order.displaySize = _display_size(request)
    if request.oco_group:
        order.ocaGroup = request.oco_group
        order.ocaType = OCA_CANCEL_WITH_BLOCK
    if parent_id:
        order.parentId = parent_id
    return order


def _display_size(request: OrderRequest) -> int:
    """IB's displaySize is a whole number of shares (0 would mean: show all)."""
    shown = request.display_qty
    if shown is None or shown != shown.to_integral_value() or shown < 1:
        raise _invalid(f"display_qty {shown} is not a whole number of shares", request)
    return int(shown)


def _invalid(message: str, request: OrderRequest) -> BrokerRejected:
    return BrokerRejected(
        message,
        code=ErrorCode.E_INTENT_INVALID,
        context={"client_order_id": request.client_order_id},
    )
