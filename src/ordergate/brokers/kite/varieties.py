"""Which product and variety an order is placed with at Kite, checked before sending.

The request's own (``OrderRequest.product`` / ``variety``, from the intent) win; else the
product configured for the symbol (``products``), else the block's ``product``; the
variety falls back to the block's ``variety``. What Kite would refuse, or what ordergate
cannot express, is refused here with ``E_INTENT_INVALID`` naming the field, before any
request leaves:

- ``CNC`` (delivery) and ``MTF`` (margin trading) are cash-equity products: NSE and BSE only;
- ``co`` (a cover order) carries its stop-loss as the trigger of a MARKET or LIMIT order,
  which an ordergate intent cannot say (a stop price belongs to STOP orders): ask for a
  bracket (``sl_offset_pct``) instead, which the engine holds;
- ``iceberg`` is placed in ``iceberg_legs`` legs (the block's setting, 2-10) of
  ``ceil(qty / legs)`` each, LIMIT orders only;
- ``auction`` needs Kite's auction number, which ordergate does not carry.
"""

from __future__ import annotations

from typing import Any

from ordergate.domain.enums import OrderType, OrderVariety, Product
from ordergate.domain.errors import BrokerRejected, ErrorCode
from ordergate.domain.wire import OrderRequest

#: where the cash-equity products are offered
CASH_EXCHANGES = frozenset({"NSE", "BSE"})


def _refuse(message: str, request: OrderRequest, field: str) -> BrokerRejected:
    return BrokerRejected(
        message,
        code=ErrorCode.E_INTENT_INVALID,
        context={"client_order_id": request.client_order_id, "field": field},
    )


def placement(
    request: OrderRequest,
    *,
    exchange: str,
    default_product: str,
    default_variety: str,
    iceberg_legs: int,
) -> tuple[str, str, dict[str, Any]]:
    """(product, variety, the variety's extra ``place_order`` arguments) for ``request``."""
    product = request.product.value if request.product is not None else default_product
    variety = request.variety.value if request.variety is not None else default_variety
    if product in (Product.CNC, Product.MTF) and exchange not in CASH_EXCHANGES:
        raise _refuse(
            f"product {product} is for cash equity (NSE, BSE), not {exchange}: use NRML "
            "(carried) or MIS (intraday)",
            request,
            "product",
        )
    extra: dict[str, Any] = {}
    if variety == OrderVariety.CO:
        raise _refuse(
            "a Kite cover order carries its stop-loss as the trigger of a MARKET or LIMIT "
            "order, which an intent cannot say: send a bracket (sl_offset_pct) instead",
            request,
            "variety",
        )
    if variety == OrderVariety.AUCTION:
        raise _refuse(
            "a Kite auction order needs the auction number, which ordergate does not carry",
            request,
            "variety",
        )
    if variety == OrderVariety.ICEBERG:
        if request.order_type is not OrderType.LIMIT:
            raise _refuse(
                f"a Kite iceberg order is a LIMIT order, not {request.order_type}",
                request,
                "variety",
            )
        legs = int(iceberg_legs)
        leg_qty = -(-int(request.qty) // legs)  # ceil: the legs cover the quantity
        extra = {"iceberg_legs": legs, "iceberg_quantity": leg_qty}
    return product, variety, extra
