"""An order as the simulated venue holds it, and its view as the broker port reports it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ordergate.domain.enums import OrderStatus
from ordergate.domain.money import ZERO
from ordergate.domain.wire import BrokerOrder, Execution, OrderRequest


@dataclass(slots=True, eq=False)
class VenueOrder:
    """One order as the venue holds it. ``arrival`` is ``None`` while still in flight.

    ``resting``: its limit has rested in the book (later fills are maker fills);
    ``first_px``: the first price it met after it arrived (TCA's arrival benchmark).
    """

    request: OrderRequest
    broker_order_id: str
    status: OrderStatus
    executions: list[Execution] = field(default_factory=list)
    triggered: bool = False
    reason: str = ""
    ts: datetime | None = None
    arrival: datetime | None = None
    deadline: datetime | None = None
    cancel_pending: bool = False
    filled_qty: Decimal = ZERO
    resting: bool = False
    first_px: Decimal | None = None
    #: the client ids of the replaces applied to it (a repeated replace is not applied again)
    replaces: list[str] = field(default_factory=list)

    def view(self) -> BrokerOrder:
        filled = self.filled_qty
        avg = None
        if filled:
            notional = ZERO  # a plain loop: the generator ``sum`` cost more than the math
            for e in self.executions:
                notional += e.last_qty * e.last_px
            avg = notional / filled
        status = self.status
        if self.cancel_pending and status.is_open:
            status = OrderStatus.PENDING_CANCEL
        return BrokerOrder(
            client_order_id=self.request.client_order_id,
            broker_order_id=self.broker_order_id,
            status=status,
            symbol=self.request.symbol,
            side=self.request.side,
            qty=self.request.qty,
            filled_qty=filled,
            avg_price=avg,
            executions=tuple(self.executions),
            reason=self.reason,
            ts=self.ts,
            order_type=self.request.order_type,
            time_in_force=self.request.time_in_force,
            limit_price=self.request.limit_price,
            stop_price=self.request.stop_price,
            parent_client_order_id=self.request.parent_client_order_id,
            oco_group=self.request.oco_group,
            account_id=self.request.account_id,
        )
