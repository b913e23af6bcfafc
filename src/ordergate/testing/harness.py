"""The harness: an adapter built against its fake, and the fake's controls.

The contract suite drives the adapter through the broker port and the *fake* through
the harness. A harness must provide :class:`BrokerHarness`; each further ability of
its fake is one small protocol below, and a case that needs an ability the harness
lacks is skipped, saying so. Which cases run is also chosen by the adapter's
declared :class:`~ordergate.domain.capabilities.BrokerCapabilities`.

Abilities that arm the fake (``arm_*``, ``lose_next_reply``, ``hide_next`` …) apply to
the next order submitted through the adapter, which the suite then submits at once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol, runtime_checkable

from ordergate.brokers.base import BrokerAdapter, BrokerOrder
from ordergate.domain.enums import Side
from ordergate.domain.wire import OrderRequest

__all__ = [
    "BrokerHarness",
    "DropsRequests",
    "DropsStream",
    "FillsInParts",
    "HidesOrders",
    "LosesReplies",
    "Modifies",
    "Originates",
    "RacesCancel",
    "Rejects",
    "ShapesStream",
]


@runtime_checkable
class BrokerHarness(Protocol):
    """What every harness provides."""

    #: the adapter under test, built against the fake
    adapter: BrokerAdapter
    #: a symbol the fake trades, with a market at :attr:`price`
    symbol: str
    #: the account orders are placed for, and the one ``fetch_account`` reports
    account_id: str
    #: the market now: a market order fills near it, a buy limit at half of it rests
    price: Decimal

    def trade(self, client_order_id: str) -> None:
        """Make the fake's market trade the resting limit order: everything left of it
        (part by part when it was armed with :meth:`FillsInParts.arm_parts`)."""
        ...

    def settle(self) -> None:
        """Let the fake move on one step: commands in flight, timers, the stream."""
        ...


@runtime_checkable
class FillsInParts(Protocol):
    def arm_parts(self, parts: int) -> None:
        """The next order fills in ``parts`` executions when traded."""
        ...


@runtime_checkable
class Rejects(Protocol):
    def arm_reject(self, request: OrderRequest) -> tuple[OrderRequest, str]:
        """A request (``request`` or a variant) the broker will refuse, and words the
        broker's reason will contain."""
        ...


@runtime_checkable
class LosesReplies(Protocol):
    def lose_next_reply(self) -> None:
        """The next submit reaches the broker, which takes it; its answer is lost."""
        ...


@runtime_checkable
class DropsRequests(Protocol):
    def drop_next_submit(self) -> None:
        """The next submit is refused before the broker takes it (503, connection refused)."""
        ...


@runtime_checkable
class HidesOrders(Protocol):
    def hide_next(self, seconds: float) -> None:
        """The next order is taken, but look-ups do not show it for ``seconds``."""
        ...


@runtime_checkable
class RacesCancel(Protocol):
    def arm_cancel_race(self) -> None:
        """The next order, once a cancel of it is sent, fills anyway: its fill crosses
        the cancel (or comes after the cancel was confirmed)."""
        ...


@runtime_checkable
class DropsStream(Protocol):
    def drop_stream(self) -> None:
        """Cut the adapter's stream; return once the adapter has lost it."""
        ...

    def restore_stream(self) -> None:
        """Let the stream come back (the adapter reconnects by itself)."""
        ...


@runtime_checkable
class ShapesStream(Protocol):
    def shape_stream(self, *, duplicate: bool, reorder: bool) -> None:
        """From now on the stream delivers every report twice (``duplicate``) and each
        batch newest first (``reorder``)."""
        ...


@runtime_checkable
class Originates(Protocol):
    def originate(self, side: Side, qty: Decimal) -> str:
        """Place a market order on the broker's side (another desk, the broker's own
        screen), not through the adapter; return its ``client_order_id`` as the
        broker reports it."""
        ...


@runtime_checkable
class Modifies(Protocol):
    """An adapter with a native modify (``capabilities.modify`` not ``NONE``).

    ``new_client_order_id`` names the replacement where the broker makes a new order
    (cancel-replace); a broker that replaces in place keeps the original id."""

    def modify(
        self,
        client_order_id: str,
        *,
        new_client_order_id: str,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder: ...
