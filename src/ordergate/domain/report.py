"""``ExecutionReport``: seed 000's answer to ``execute()``, in Decimal."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ordergate.domain.enums import OrderStatus
from ordergate.domain.fills import Fill
from ordergate.domain.frozen import fast_init
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.order import Order


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionReport:
    """What happened to one intent: status, fills, average price, fees and slippage.

    ``slippage`` is in basis points against the arrival price (the mark when the order
    was accepted for execution), positive when the fill was worse for us. ``warnings``
    are what the pre-trade gates said while letting the order go ("kill switch
    SYMBOL:AAPL is WARNING: …"), on the report of the submit that created the order.
    """

    order_id: str
    client_order_id: str
    status: OrderStatus
    fills: tuple[Fill, ...] = ()
    filled_qty: Decimal = ZERO
    avg_price: Decimal | None = None
    fees: Decimal = ZERO
    slippage: Decimal | None = None
    raw_broker_ref: str | None = None
    error_code: str = ""
    error_message: str = ""
    late: bool = False
    replayed: bool = False
    #: a dry run's order: its fills were simulated on the paper venue, nothing was sent
    simulated: bool = False
    warnings: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status not in (OrderStatus.REJECTED, OrderStatus.FAILED)

    @classmethod
    def of(
        cls,
        order: Order,
        fills: tuple[Fill, ...],
        *,
        replayed: bool = False,
        simulated: bool = False,
    ) -> ExecutionReport:
        return cls(
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            status=order.status,
            fills=fills,
            filled_qty=order.filled_qty,
            avg_price=order.avg_fill_price,
            fees=order.fees,
            slippage=slippage_bps(order),
            raw_broker_ref=order.broker_order_id,
            error_code=order.error_code,
            error_message=order.error_message,
            late=order.late,
            replayed=replayed,
            simulated=simulated,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "client_order_id": self.client_order_id,
            "status": self.status.value,
            "fills": [
                {
                    "exec_id": f.exec_id,
                    "last_qty": fmt(f.last_qty),
                    "last_px": fmt(f.last_px),
                    "commission": fmt(f.commission),
                    "ts": f.ts.isoformat(),
                    "late": f.late,
                }
                for f in self.fills
            ],
            "filled_qty": fmt(self.filled_qty),
            "avg_price": fmt(self.avg_price),
            "fees": fmt(self.fees),
            "slippage": fmt(self.slippage),
            "raw_broker_ref": self.raw_broker_ref,
            "error_code": self.error_code or None,
            "error_message": self.error_message or None,
            "late": self.late,
            "replayed": self.replayed,
            "simulated": self.simulated,
            "warnings": list(self.warnings),
        }


def slippage_bps(order: Order) -> Decimal | None:
    """Fill vs arrival price in bps, positive = worse for us; None without both prices."""
    if order.avg_fill_price is None or not order.arrival_price:
        return None
    diff = (order.avg_fill_price - order.arrival_price) * order.side.sign
    return (diff / order.arrival_price * 10_000).quantize(Decimal("0.01"))
