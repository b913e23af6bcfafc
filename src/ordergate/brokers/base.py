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
from typing import Any, Protocol, runtime_checkable

from ordergate.domain.capabilities import BrokerCapabilities
from ordergate.domain.market import Mark
from ordergate.domain.wire import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    Execution,
    OrderRequest,
)

__all__ = [
    "BrokerAccount",
    "BrokerAdapter",
    "BrokerCapabilities",
    "BrokerOrder",
    "BrokerPosition",
    "CurrencyAware",
    "Execution",
    "KillSwitchAware",
    "MarketDataSink",
    "OrderListener",
    "OrderRequest",
    "QuoteSource",
]


OrderListener = Callable[[BrokerOrder], None]


@runtime_checkable
class BrokerAdapter(Protocol):
    """A broker, as the engine sees it."""

    adapter_id: str
    #: what the broker can do (dedupe, look-up, ids, order types …), declared by the
    #: adapter and checked against the broker by ``ordergate.testing.broker_contract``
    capabilities: BrokerCapabilities

    @property
    def dedupes_client_order_id(self) -> bool:
        """True when the broker answers a repeated ``client_order_id`` with the existing
        order instead of opening a second one; only then may a submit be resent blind.
        Derived from :attr:`capabilities` (kept while the engine still reads it)."""
        ...

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
class KillSwitchAware(Protocol):
    """A broker that trips a kill switch by itself (an expired session: Kite's daily
    token): the composition root hands it the risk desk's board."""

    def attach_kill_switches(self, board: Any) -> None: ...


@runtime_checkable
class CurrencyAware(Protocol):
    """A broker that says which currency its account is kept in: the engine books a
    fill's fee only when it is in that currency (``Execution.fee_currency``)."""

    @property
    def account_currency(self) -> str: ...


@runtime_checkable
class QuoteSource(Protocol):
    """A broker that supplies market data (``capabilities.market_data``): the engine
    asks it for a quote when it holds no fresh mark of a symbol it is to trade."""

    def fetch_quote(self, symbol: str) -> Mark | None:
        """The broker's current quote (``None`` when it has none for ``symbol``)."""
        ...


@runtime_checkable
class MarketDataSink(Protocol):
    """A broker that simulates fills needs to be told the market (paper, backtest)."""

    def on_mark(self, mark: Mark) -> None: ...
