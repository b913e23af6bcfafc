"""The broker's wire types: what we send a broker and what it answers, typed.

They sit below both the simulated venue (``sim/``) and the adapters (``brokers/``):
the venue speaks the same language as a real broker, and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.domain.enums import (
    OrderStatus,
    OrderType,
    OrderVariety,
    Product,
    Side,
    TimeInForce,
)
from ordergate.domain.fills import Amend
from ordergate.domain.frozen import fast_init
from ordergate.domain.money import ZERO, fmt


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRequest:
    """What we ask a broker to do; ``client_order_id`` is ours and makes resends safe."""

    client_order_id: str
    account_id: str
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType
    time_in_force: TimeInForce
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    expire_at: datetime | None = None
    parent_client_order_id: str | None = None
    oco_group: str | None = None
    #: the broker's product and variety where it asks for them (Kite); None: the
    #: adapter's configured default. Brokers without the notion ignore them.
    product: Product | None = None
    variety: OrderVariety | None = None
    #: show only this much at a time (a native iceberg); None: all of it. Sent only to a
    #: broker whose capabilities declare ``display_qty``.
    display_qty: Decimal | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "client_order_id": self.client_order_id,
            "account_id": self.account_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": fmt(self.qty),
            "order_type": self.order_type.value,
            "time_in_force": self.time_in_force.value,
            "limit_price": fmt(self.limit_price),
            "stop_price": fmt(self.stop_price),
            "expire_at": None if self.expire_at is None else self.expire_at.isoformat(),
            "parent_client_order_id": self.parent_client_order_id,
            "oco_group": self.oco_group,
        }
        if self.product is not None:
            body["product"] = self.product.value
        if self.variety is not None:
            body["variety"] = self.variety.value
        if self.display_qty is not None:
            body["display_qty"] = fmt(self.display_qty)
        return body


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Execution:
    """One execution as the broker reported it.

    ``amend`` says when the entry busts or corrects the execution ``exec_id`` booked
    earlier (its figures are then the corrected ones); ``amend_id`` is the broker's id
    of that bust or correction (FIX's ExecID of the 150=H / G report), kept on the fill.
    """

    exec_id: str
    last_qty: Decimal
    last_px: Decimal
    ts: datetime
    commission: Decimal = ZERO
    liquidity: str = ""
    amend: Amend = Amend.NONE
    amend_id: str = ""
    #: the currency ``commission`` is in; None: the account's (what every adapter
    #: reported before this field). A fee in another asset (BNB, the base currency) is
    #: recorded with its currency, never booked as cash (``engine/sync.py``).
    fee_currency: str | None = None


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOrder:
    """The broker's view of one order, mapped to our statuses by the adapter.

    ``executions`` is every execution so far (cumulative); the engine applies the ones
    it has not seen, by ``exec_id``. Decisions (reconcile, brackets) read the typed
    fields, never ``raw``.
    """

    client_order_id: str
    broker_order_id: str
    status: OrderStatus
    symbol: str
    side: Side
    qty: Decimal
    filled_qty: Decimal = ZERO
    avg_price: Decimal | None = None
    executions: tuple[Execution, ...] = ()
    reason: str = ""
    ts: datetime | None = None
    #: the order's terms as the broker holds them (None where it does not say)
    order_type: OrderType | None = None
    time_in_force: TimeInForce | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    #: the order this one protects (an attached stop-loss or take-profit)
    parent_client_order_id: str | None = None
    oco_group: str | None = None
    account_id: str | None = None
    #: an order the broker placed itself (an intraday square-off, a liquidation, one
    #: placed by hand in the broker's own terminal): the engine adopts and books it
    originated_by_broker: bool = False
    #: the broker's own message, kept (redacted) as the receipt; never read for decisions
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerPosition:
    symbol: str
    qty: Decimal
    avg_price: Decimal = ZERO
    account_id: str = "default"


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerAccount:
    account_id: str
    cash: Decimal
    equity: Decimal
    buying_power: Decimal
    currency: str = "USD"
