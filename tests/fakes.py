"""A broker that answers what the test tells it to: partial fills, duplicates, timeouts.

It is a real adapter (it implements the BrokerAdapter port and keeps its own book), so
the engine cannot tell it from a broker that behaves badly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from ordergate.brokers.base import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    Execution,
    OrderListener,
    OrderRequest,
)
from ordergate.clock import Clock
from ordergate.domain.capabilities import BrokerCapabilities, ClientIdDedupe, Lookup
from ordergate.domain.enums import OrderStatus, OrderType, TimeInForce
from ordergate.domain.errors import BrokerRejected


class ScriptedBroker:
    adapter_id = "scripted"
    capabilities = BrokerCapabilities(
        dedupe=ClientIdDedupe.ALWAYS,
        lookup=Lookup.BY_CLIENT_ID,
        lookup_miss_conclusive=True,
        order_types=frozenset(OrderType),
        time_in_force=frozenset(TimeInForce),
        simulated=True,
    )

    @property
    def dedupes_client_order_id(self) -> bool:
        return self.capabilities.dedupes_client_order_id

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.orders: dict[str, BrokerOrder] = {}
        self.submits: list[OrderRequest] = []
        self.listeners: list[OrderListener] = []
        #: what submit does; default: accept and rest
        self.on_submit: Callable[[OrderRequest], BrokerOrder] | None = None
        self.cancel_rejects = False

    def subscribe(self, listener: OrderListener) -> None:
        self.listeners.append(listener)

    def submit(self, request: OrderRequest) -> BrokerOrder:
        self.submits.append(request)
        if request.client_order_id in self.orders:
            return self.orders[request.client_order_id]
        view = self.on_submit(request) if self.on_submit is not None else self.ack(request)
        self.orders[request.client_order_id] = view
        return view

    def ack(self, request: OrderRequest, broker_order_id: str | None = None) -> BrokerOrder:
        """The broker's acknowledgement of ``request``: accepted, nothing filled."""
        return BrokerOrder(
            client_order_id=request.client_order_id,
            broker_order_id=broker_order_id or f"B{len(self.orders) + 1}",
            status=OrderStatus.ACCEPTED,
            symbol=request.symbol,
            side=request.side,
            qty=request.qty,
            ts=self.clock.now(),
        )

    def push(self, view: BrokerOrder) -> None:
        """The stream delivers ``view`` (possibly stale or repeated)."""
        self.orders[view.client_order_id] = view
        for listener in self.listeners:
            listener(view)

    def fill(
        self, client_order_id: str, qty: str, px: str, exec_id: str, fee: str = "0"
    ) -> BrokerOrder:
        """Add an execution to the broker's book and push the new view."""
        view = self.orders[client_order_id]
        execution = Execution(
            exec_id=exec_id,
            last_qty=Decimal(qty),
            last_px=Decimal(px),
            commission=Decimal(fee),
            ts=self.clock.now(),
        )
        executions = (*view.executions, execution)
        filled = sum((e.last_qty for e in executions), Decimal(0))
        status = OrderStatus.FILLED if filled == view.qty else view.status
        if status is OrderStatus.ACCEPTED and filled:
            status = OrderStatus.PARTIALLY_FILLED
        new = replace(view, executions=executions, filled_qty=filled, status=status)
        self.push(new)
        return new

    def cancel(self, client_order_id: str) -> BrokerOrder:
        if self.cancel_rejects:
            raise BrokerRejected("too late to cancel")
        view = self.orders[client_order_id]
        if view.status.is_open:
            view = replace(view, status=OrderStatus.CANCELED, reason="canceled")
            self.orders[client_order_id] = view
        return view

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        return self.orders.get(client_order_id)

    def fetch_open_orders(self) -> list[BrokerOrder]:
        return [o for o in self.orders.values() if o.status.is_open]

    def fetch_positions(self) -> list[BrokerPosition]:
        return []

    def fetch_account(self) -> BrokerAccount:
        zero = Decimal(0)
        return BrokerAccount(account_id="scripted", cash=zero, equity=zero, buying_power=zero)
