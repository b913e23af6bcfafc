"""The broker call path behind this process's leases: send only what we hold.

:class:`FencedBroker` wraps the engine's adapter when several processes share a
database (``engine/ownership.py`` installs it). Before every ``submit`` it asks the
ownership for the order's lease *right now* — a claim in the database, on the
database's clock, that returns a fencing token — and sends only if the lease is ours
with at least ``send_margin`` of it left by this process's monotonic clock, measured
from before the claim was asked. A peer may take the order over only once the
database says the lease expired, which is after that; so a process that lost its
lease has stopped sending before its peer may start, whatever either host's wall
clock says.

When the lease is another live process's, this process does not send: it waits for
that process's outcome (the order leaves ``SUBMITTED`` in the store) and answers the
broker's view of it, or takes the order back once the peer's lease has run out — then
it looks the order up before sending, as recovery does. Everything else (look-ups,
cancels, streams, capabilities) passes straight through.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from ordergate.brokers.base import (
    BrokerAccount,
    BrokerAdapter,
    BrokerOrder,
    BrokerPosition,
    OrderListener,
    OrderRequest,
)
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerTimeout
from ordergate.engine.core import EngineCore

_SENDABLE = (OrderStatus.PENDING, OrderStatus.SUBMITTED)


@dataclass(frozen=True, slots=True)
class Clearance:
    """This process may send the order now; ``look_up_first`` when someone else (or an
    earlier life of this process) held its lease and may have sent it already."""

    token: int
    look_up_first: bool


class SendGuard(Protocol):
    """What the fence asks before and after a send (``engine/ownership.py``'s Ownership)."""

    ttl: timedelta

    @property
    def engine(self) -> EngineCore: ...

    def order_for(self, client_order_id: str) -> str | None: ...

    def begin_send(self, order_id: str) -> Clearance | None: ...

    def end_send(self, order_id: str) -> None: ...


class FencedBroker:
    """A :class:`BrokerAdapter` whose submits are fenced by the order's lease."""

    def __init__(self, inner: BrokerAdapter, ownership: SendGuard) -> None:
        self.inner = inner
        self._ownership = ownership
        self.adapter_id = inner.adapter_id
        #: the broker's own declaration: the fence changes who sends, not what it can do
        self.capabilities = inner.capabilities
        self.dedupes_client_order_id = inner.dedupes_client_order_id

    def __getattr__(self, name: str) -> Any:  # the adapter's extras: stream_up, mark, close …
        return getattr(self.inner, name)

    def cancel(self, client_order_id: str) -> BrokerOrder:
        return self.inner.cancel(client_order_id)

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        return self.inner.fetch_order(client_order_id)

    def fetch_open_orders(self) -> list[BrokerOrder]:
        return self.inner.fetch_open_orders()

    def fetch_positions(self) -> list[BrokerPosition]:
        return self.inner.fetch_positions()

    def fetch_account(self) -> BrokerAccount:
        return self.inner.fetch_account()

    def subscribe(self, listener: OrderListener) -> None:
        self.inner.subscribe(listener)

    def submit(self, request: OrderRequest) -> BrokerOrder:
        owner = self._ownership
        order_id = owner.order_for(request.client_order_id)
        if order_id is None:  # not an order of our store: nothing to fence
            return self.inner.submit(request)
        clearance = owner.begin_send(order_id)
        if clearance is None:
            return self._peer_answer(order_id, request)
        return self._send(order_id, request, clearance)

    def _send(self, order_id: str, request: OrderRequest, clearance: Clearance) -> BrokerOrder:
        owner = self._ownership
        try:
            if clearance.look_up_first:  # its last holder may have sent it before it stopped
                view = self.inner.fetch_order(request.client_order_id)
                if view is not None:
                    owner.end_send(order_id)
                    return view
            return self.inner.submit(request)
        except BaseException:
            owner.end_send(order_id)
            raise

    def _peer_answer(self, order_id: str, request: OrderRequest) -> BrokerOrder:
        """Another process holds the lease, or has recorded the order's answer: its
        outcome, or the order back (looked up first) once that process is gone."""
        owner = self._ownership
        cid = request.client_order_id
        give_up = time.monotonic() + 3 * owner.ttl.total_seconds()
        pause = min(0.05, owner.ttl.total_seconds() / 20)
        while time.monotonic() < give_up:
            order = owner.engine.store.get_order(order_id)
            if order is None or order.status not in _SENDABLE:
                view = self.inner.fetch_order(cid)
                if view is not None:
                    return view
                raise BrokerTimeout(
                    f"order {order_id} was settled by another engine process without "
                    "reaching the broker; this process did not send it",
                    context={"order_id": order_id},
                )
            clearance = owner.begin_send(order_id)
            if clearance is not None:  # the holder's lease ran out: ours now
                return self._send(order_id, request, Clearance(clearance.token, True))
            time.sleep(pause)
        raise BrokerTimeout(
            f"order {order_id} is being sent by another engine process that holds its "
            "lease; this process did not send it, and the owner's outcome will be recorded",
            context={"order_id": order_id},
        )
