"""The paper broker: an in-process, deterministic broker over a simulated venue.

It translates between the broker port and :class:`~ordergate.sim.venue.SimulatedVenue`,
which does the matching with pluggable fill, fee and latency models. By default it
behaves as it always has: market orders fill at once at the price model's price
against the last mark (``fill_at_arrival``; the far side of its quote when the mark has
one); a limit at or through the market (a buy limit at the ask) is marketable and fills
as a taker, never beyond its limit; otherwise it rests and fills as a maker, at its own
price, when a later mark trades through it or quotes at it (an exact touch by a trade
is no fill; :mod:`~ordergate.sim.matching`); stops trigger on a cross and then behave
as market (STOP) or limit (STOP_LIMIT) orders; IOC/FOK cancel what did not trade at
once. Every fill, fee and latency model of a backtest can be given here
(:class:`~ordergate.sim.costs.CostConfig` builds them from the settings). A repeated
``client_order_id`` is answered with the existing order. With a participation limit
an order fills in parts over several marks, and listeners see each part as a
:class:`BrokerOrder` with every execution so far.

Thread-safe: one lock around the book; listeners are called after it is released, so
a listener may call back into the broker. Without a state file a change of the book is
just the lock (no context manager of our own on the per-tick path).

Its book can be kept in a file (``state_file``, see :mod:`.paper_book`) so that
separate CLI commands share one paper account; the file is locked while it is used.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from ordergate.brokers.base import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    OrderListener,
    OrderRequest,
)
from ordergate.brokers.paper_book import PaperBookFile
from ordergate.clock import Clock, SystemClock
from ordergate.domain.capabilities import BrokerCapabilities, ClientIdDedupe, Lookup, Modify
from ordergate.domain.enums import OrderType, TimeInForce
from ordergate.domain.errors import BrokerRejected
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.positions import Position, book
from ordergate.sim.data import MarketEvent, last_price
from ordergate.sim.fees import FeeModel, PerShareFee
from ordergate.sim.fills import FixedBps, PriceModel, as_slippage
from ordergate.sim.latency import LatencyModel
from ordergate.sim.matching import FillModel
from ordergate.sim.order import VenueOrder
from ordergate.sim.tif import Session
from ordergate.sim.venue import SimulatedVenue

#: In-process and under one lock (with a state file, the file's lock too): an order is
#: in the book or was never taken, so a miss is conclusive; nothing is pushed over a
#: wire, so the stream misses nothing.
PAPER_CAPABILITIES = BrokerCapabilities(
    dedupe=ClientIdDedupe.ALWAYS,
    lookup=Lookup.BY_CLIENT_ID,
    lookup_miss_conclusive=True,
    order_types=frozenset(OrderType),
    time_in_force=frozenset(TimeInForce),
    stream_replays=True,
    modify=Modify.REPLACE,
    simulated=True,
)


class PaperBroker:
    """A simulated broker in this process. Implements ``BrokerAdapter`` and ``MarketDataSink``.

    ``fill_model`` (slippage, participation, lot) overrides ``price_model``, which is
    kept for the older one-point price models. ``latency``, ``session`` (when DAY
    orders end) and ``fill_at_arrival`` go to the venue; a backtest sets the last off.
    """

    adapter_id = "paper"
    capabilities: BrokerCapabilities = PAPER_CAPABILITIES

    @property
    def dedupes_client_order_id(self) -> bool:
        return self.capabilities.dedupes_client_order_id

    @dedupes_client_order_id.setter
    def dedupes_client_order_id(self, value: bool) -> None:
        """Tests' brokers built on this one declare themselves non-deduping this way."""
        dedupe = ClientIdDedupe.ALWAYS if value else ClientIdDedupe.NEVER
        self.capabilities = replace(self.capabilities, dedupe=dedupe)

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        price_model: PriceModel | None = None,
        fee_model: FeeModel | None = None,
        starting_cash: Decimal = Decimal(1_000_000),
        tradable: frozenset[str] | None = None,
        state_file: str | Path | None = None,
        fill_model: FillModel | None = None,
        latency: LatencyModel | None = None,
        session: Session | None = None,
        fill_at_arrival: bool = True,
    ) -> None:
        self._clock = clock or SystemClock()
        model = fill_model or FillModel(slippage=as_slippage(price_model or FixedBps()))
        self._venue = SimulatedVenue(
            fill_model=model,
            fee_model=fee_model or PerShareFee(),
            latency=latency,
            session=session,
            fill_at_arrival=fill_at_arrival,
        )
        self._starting_cash = starting_cash
        self._tradable = tradable
        self._book = PaperBookFile(state_file) if state_file else None
        self._dirty: set[str] = set()
        #: replaced, never changed in place: ``_notify`` reads it without the lock
        self._listeners: tuple[OrderListener, ...] = ()
        self._lock = threading.RLock()

    @property
    def venue(self) -> SimulatedVenue:
        return self._venue

    # ------------------------------------------------------------- the port

    def subscribe(self, listener: OrderListener) -> None:
        with self._lock:
            self._listeners = (*self._listeners, listener)

    def submit(self, request: OrderRequest) -> BrokerOrder:
        with self._changing():
            venue = self._venue
            existing = venue.orders.get(request.client_order_id)
            if existing is not None:
                return existing.view()
            if self._tradable is not None and request.symbol not in self._tradable:
                raise BrokerRejected(f"symbol {request.symbol} is not tradable at this broker")
            if request.order_type is OrderType.MARKET and not venue.has_market(request.symbol):
                raise BrokerRejected(f"no market price for {request.symbol}: mark it first")
            order = venue.submit(request, self._clock.now())
            self._touched(request.client_order_id)
            receipt = order.view()
            others = self._drain(skip=order)
        self._notify(others)
        return receipt

    def cancel(self, client_order_id: str) -> BrokerOrder:
        with self._changing():
            order = self._venue.cancel(client_order_id, self._clock.now())
            if order is None:
                raise BrokerRejected(f"unknown order {client_order_id}")
            self._touched(client_order_id)
            view = order.view()
            others = self._drain(skip=order)
        self._notify(others)
        return view

    def modify(
        self,
        client_order_id: str,
        *,
        new_client_order_id: str,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder:
        """Replace in place (``Modify.REPLACE``): the order keeps its client id;
        ``new_client_order_id`` names the replace, so a repeat is not applied twice."""
        with self._changing():
            refusal = self._venue.replace(
                client_order_id,
                replace_id=new_client_order_id,
                qty=qty,
                limit_price=limit_price,
                stop_price=stop_price,
                now=self._clock.now(),
            )
            if refusal:
                raise BrokerRejected(refusal, context={"client_order_id": client_order_id})
            self._touched(client_order_id)
            order = self._venue.orders[client_order_id]
            view = order.view()
            others = self._drain(skip=order)
        self._notify(others)
        return view

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        with self._reading():
            order = self._venue.orders.get(client_order_id)
            return None if order is None else order.view()

    def fetch_open_orders(self) -> list[BrokerOrder]:
        with self._reading():
            return [o.view() for o in self._venue.open_orders()]

    def fetch_positions(self) -> list[BrokerPosition]:
        with self._reading():
            return self._positions()

    def _positions(self) -> list[BrokerPosition]:
        # what the venue's retired orders left (none unless it retires: sim/retired.py)
        books = {key: p.copy() for key, p in self._venue.retired.positions.items()}
        for order in self._venue.orders.values():
            req = order.request
            key = (req.account_id, req.symbol)
            position = books.setdefault(key, Position(account_id=req.account_id, symbol=req.symbol))
            for execution in order.executions:
                position.apply_fill(req.side, execution.last_qty, execution.last_px, ZERO)
        return [
            BrokerPosition(
                symbol=p.symbol, qty=p.qty, avg_price=p.avg_price, account_id=p.account_id
            )
            for p in books.values()
            if p.qty != 0
        ]

    def fetch_account(self) -> BrokerAccount:
        with self._reading():
            cash = self._starting_cash - self._venue.retired.cash_out
            for order in self._venue.orders.values():
                for execution in order.executions:
                    flow = execution.last_qty * execution.last_px * order.request.side.sign
                    cash -= book(flow) + book(execution.commission)  # per fill, to the cent
            equity = cash
            for position in self._positions():
                event = self._venue.last_events.get(position.symbol)
                equity += position.qty * (last_price(event) if event else position.avg_price)
            return BrokerAccount(account_id="paper", cash=cash, equity=equity, buying_power=cash)

    # ----------------------------------------------------------- the market

    def on_mark(self, mark: Mark) -> None:
        """A new price: record it and fill every resting order it makes marketable."""
        self.on_event(mark)

    def on_event(self, event: MarketEvent) -> None:
        """Any market event (mark, quote, trade, bar): match the symbol's working orders."""
        with self._changing():
            self._venue.on_event(event)
            changed = self._drain(skip=None)
        self._notify(changed)

    def advance(self) -> None:
        """Deliver in-flight orders and expire orders up to the clock's time."""
        with self._changing():
            self._venue.advance(self._clock.now())
            changed = self._drain(skip=None)
        self._notify(changed)

    def _drain(self, skip: VenueOrder | None) -> list[BrokerOrder]:
        changed = self._venue.drain_changes()
        if not changed:
            return []
        if self._book is not None:
            self._dirty.update(o.request.client_order_id for o in changed)
        return [o.view() for o in changed if o is not skip]

    def _notify(self, views: list[BrokerOrder]) -> None:
        if not views:
            return
        listeners = self._listeners
        for view in views:
            for listener in listeners:
                listener(view)

    # -------------------------------------------------------- persistence

    def _changing(self) -> AbstractContextManager[object]:
        """Around a change of the book: the lock alone, or with a state file the lock
        and the file (:meth:`_persisted`)."""
        return self._lock if self._book is None else self._persisted(self._book)

    def _touched(self, client_order_id: str) -> None:
        """Note an order to write back to the state file (without one, nothing to do)."""
        if self._book is not None:
            self._dirty.add(client_order_id)

    @contextlib.contextmanager
    def _persisted(self, book: PaperBookFile) -> Iterator[None]:
        """A change of the book under the lock, saved to the book file."""
        with self._lock:
            with book.locked(self._venue) as touched:
                yield
                touched.update(self._dirty)
            self._dirty.clear()  # a failed change keeps them: the next one writes them

    def _reading(self) -> AbstractContextManager[object]:
        return self._lock if self._book is None else self._read_locked(self._book)

    @contextlib.contextmanager
    def _read_locked(self, book: PaperBookFile) -> Iterator[None]:
        with self._lock, book.locked(self._venue, write=False):
            yield
