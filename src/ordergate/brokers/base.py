"""The broker port: seed 000's ``BrokerAdapter``, typed.

An adapter *translates*: our :class:`OrderRequest` to the broker's wire format, and the
broker's answers to :class:`BrokerOrder`. It decides nothing — deduping fills, moving
statuses and booking positions is the engine's job, done once.

Errors an adapter raises (translated from its SDK, most specific first):

- :class:`~ordergate.domain.errors.BrokerRejected` — a definitive no;
- :class:`~ordergate.domain.errors.BrokerTimeout` — sent, no answer: the outcome is
  unknown and must be settled by :meth:`BrokerAdapter.fetch_order`;
- :class:`~ordergate.domain.errors.BrokerUnavailable` — not received (refused
  connection, 5xx before acceptance, 429): safe to retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO, fmt


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

    def to_dict(self) -> dict[str, Any]:
        return {
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Execution:
    """One execution as the broker reported it."""

    exec_id: str
    last_qty: Decimal
    last_px: Decimal
    ts: datetime
    commission: Decimal = ZERO
    liquidity: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerOrder:
    """The broker's view of one order, mapped to our statuses by the adapter.

    ``executions`` is every execution so far (cumulative); the engine applies the ones
    it has not seen, by ``exec_id``.
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


OrderListener = Callable[[BrokerOrder], None]


@runtime_checkable
class BrokerAdapter(Protocol):
    """A broker, as the engine sees it."""

    adapter_id: str
    #: True when the broker answers a repeated ``client_order_id`` with the existing
    #: order instead of opening a second one; only then may a submit be resent blind.
    dedupes_client_order_id: bool

    def submit(self, request: OrderRequest) -> BrokerOrder:
        """Place an order; return the broker's receipt (maybe already filled)."""
        ...

    def cancel(self, client_order_id: str) -> BrokerOrder:
        """Ask to cancel; return the order as the broker now has it."""
        ...

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        """Look an order up by our id; ``None`` when the broker never received it."""
        ...

    def fetch_open_orders(self) -> list[BrokerOrder]: ...

    def fetch_positions(self) -> list[BrokerPosition]: ...

    def fetch_account(self) -> BrokerAccount: ...

    def subscribe(self, listener: OrderListener) -> None:
        """Have every later change of any order pushed to ``listener`` (the stream)."""
        ...


@runtime_checkable
class MarketDataSink(Protocol):
    """A broker that simulates fills needs to be told the market (paper, backtest)."""

    def on_mark(self, mark: Mark) -> None: ...
