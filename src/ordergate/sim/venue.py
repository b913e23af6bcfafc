"""A deterministic simulated venue: working orders, market data in time order, fills.

The venue is plain synchronous code with no clock and no I/O: every call says what
time it is (``now``, or the event's ``ts``), so a backtest drives it with simulated
time and the paper broker with the wall clock. Given the same calls it produces the
same executions, ids and statuses, byte for byte; the only randomness is whatever an
injected latency model draws from its own seeded ``random.Random``.

One event, in order:

1. commands in flight (:mod:`~ordergate.sim.latency`) that have reached the venue by
   the event's time are delivered, oldest first; an order that arrives is matched
   against the market standing at that moment when ``fill_at_arrival`` is on (the
   paper broker: a market order fills at the last mark at once);
2. orders past their time in force expire (:mod:`~ordergate.sim.tif`);
3. the working orders of the symbol are matched against the event's price path
   (:mod:`~ordergate.sim.matching`), oldest first, sharing the event's volume cap.

A backtest turns ``fill_at_arrival`` off: an order then trades only on events stamped
*after* it arrived — an order decided at ``t`` never trades at a price stamped ``t``,
whichever symbol's event at ``t`` comes first — so an order decided on a bar's close
never fills at that close; an order that arrives during a bar trades on the bar's path
from its arrival on (:func:`~ordergate.sim.data.path_from`). A bar, a quote or a print
is the whole story up to its ``ts``, so a :class:`~ordergate.domain.market.Mark` for the
same symbol and the same ``ts`` right after it is taken as its echo (the engine
telling everyone the market) and only updates the last price: each event is matched
once, and its volume is shared once.

What one event costs does not grow with the size of the book: working orders are kept
by symbol (an event looks only at its symbol's), orders with a deadline in a heap by
deadline, and every order not yet final in :meth:`SimulatedVenue.open_orders`.
``orders`` keeps every order ever taken, final ones included: a repeated
``client_order_id`` is answered from it, the paper broker looks orders up and sums
positions from it, and its state file saves it.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import replace as with_terms
from datetime import datetime
from decimal import Decimal

from ordergate.domain.enums import OrderStatus, Side, TimeInForce
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.wire import Execution, OrderRequest
from ordergate.sim.data import (
    Bar,
    MarketEvent,
    Tick,
    event_volume,
    last_tick,
    path_from,
    price_path,
)
from ordergate.sim.fees import FeeModel, PerShareFee
from ordergate.sim.latency import NO_DELAY, LatencyModel, NoLatency
from ordergate.sim.matching import FillModel, match
from ordergate.sim.order import VenueOrder
from ordergate.sim.retired import Retired
from ordergate.sim.tif import Session, deadline

S = OrderStatus
SUBMIT, CANCEL = "submit", "cancel"
_IMMEDIATE = frozenset({TimeInForce.IOC, TimeInForce.FOK})


class SimulatedVenue:
    """Holds working orders and fills them against market data, deterministically."""

    def __init__(
        self,
        *,
        fill_model: FillModel | None = None,
        fee_model: FeeModel | None = None,
        latency: LatencyModel | None = None,
        session: Session | None = None,
        fill_at_arrival: bool = True,
        id_prefix: str = "P",
    ) -> None:
        self.fill_model = fill_model or FillModel()
        self.fee_model: FeeModel = fee_model or PerShareFee()
        self.latency: LatencyModel = latency or NoLatency()
        self.session = session
        self.fill_at_arrival = fill_at_arrival
        self.id_prefix = id_prefix
        self.orders: dict[str, VenueOrder] = {}
        self.last_events: dict[str, MarketEvent] = {}
        self.next_order = 1
        self.next_exec = 1
        self.inflight: list[tuple[datetime, int, str, str]] = []
        self._cmd_seq = 0
        #: symbol -> client order id -> order: the arrived orders not yet final, oldest
        #: first (a dict, so an order leaves in O(1) and the order is kept)
        self._working: dict[str, dict[str, VenueOrder]] = {}
        #: every order not yet final, in flight included, in the order taken
        self._open: dict[str, VenueOrder] = {}
        #: working orders with a deadline, in arrival order
        self._timed: dict[str, VenueOrder] = {}
        #: (deadline, arrival seq, client order id) of ``_timed``; entries of orders that
        #: finished otherwise stay until popped (or the heap is rebuilt)
        self._expiries: list[tuple[datetime, int, str]] = []
        self._timed_seq = 0
        #: symbol -> side -> what the symbol's last event may still trade
        self._caps: dict[str, dict[Side, Decimal | None]] = {}
        #: symbol -> ts of its last bar, quote or print (a mark then at that ts is its echo)
        self._echo_ts: dict[str, datetime] = {}
        self._changed: dict[str, VenueOrder] = {}
        #: what forgotten final orders left behind (see :meth:`retire_final`)
        self.retired = Retired()
        self._keep_final: int | None = None
        self._finals: deque[str] = deque()
        self._on_retire: Callable[[VenueOrder], None] | None = None

    def retire_final(
        self, keep: int, on_retire: Callable[[VenueOrder], None] | None = None
    ) -> None:
        """Forget final orders but the last ``keep``: a run of millions of orders then
        holds only the working ones. Each goes to :attr:`retired` (positions and cash
        stay whole) and to ``on_retire`` as it is forgotten (:mod:`~ordergate.sim.retired`)."""
        self._keep_final, self._on_retire = max(1, keep), on_retire

    # ------------------------------------------------------------ commands

    def submit(self, request: OrderRequest, now: datetime) -> VenueOrder:
        """Take an order; a repeated ``client_order_id`` gets the existing one back."""
        self.advance(now)
        existing = self.orders.get(request.client_order_id)
        if existing is not None:
            return existing
        order = VenueOrder(
            request=request,
            broker_order_id=f"{self.id_prefix}{self.next_order}",
            status=S.ACCEPTED,
            ts=now,
        )
        self.next_order += 1
        self.orders[request.client_order_id] = order
        self._open[request.client_order_id] = order
        delay = self.latency.submit_delay()
        if delay == NO_DELAY:
            self._arrive(order, now)
        else:
            self._send(now + delay, SUBMIT, request.client_order_id)
        return order

    def cancel(self, client_order_id: str, now: datetime) -> VenueOrder | None:
        """Ask to cancel; ``None`` for an unknown order. A final order is returned as is."""
        self.advance(now)
        order = self.orders.get(client_order_id)
        if order is None or order.status.is_terminal or order.cancel_pending:
            return order
        delay = self.latency.cancel_delay()
        if delay == NO_DELAY:
            self._cancel(order, now)
        else:
            order.cancel_pending = True
            self._send(now + delay, CANCEL, client_order_id)
        return order

    def replace(
        self,
        client_order_id: str,
        *,
        replace_id: str,
        qty: Decimal | None,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        now: datetime,
    ) -> str:
        """Change a working order in place (``None``: that term stays); return ``""``
        when done, or why the venue refuses. ``qty`` is the new total quantity, so it
        must stay above what has filled (a fill may have come first). A replace whose
        ``replace_id`` was applied already is not applied again. The order keeps its
        place in time; it trades on its new terms from the next market event."""
        self.advance(now)
        order = self.orders.get(client_order_id)
        if order is None:
            return f"unknown order {client_order_id}"
        if replace_id in order.replaces:
            return ""
        if order.status.is_terminal:
            return f"order {client_order_id} is {order.status}: too late to replace"
        if order.cancel_pending:
            return f"order {client_order_id} is being canceled"
        request = order.request
        new_qty = request.qty if qty is None else qty
        if new_qty <= order.filled_qty:
            return (
                f"quantity {new_qty} is at or below the {order.filled_qty} already filled "
                f"of order {client_order_id}"
            )
        order.request = with_terms(
            request,
            qty=new_qty,
            limit_price=request.limit_price if limit_price is None else limit_price,
            stop_price=request.stop_price if stop_price is None else stop_price,
        )
        order.replaces.append(replace_id)
        order.ts = now
        self._changed[client_order_id] = order
        return ""

    def restore(
        self,
        orders: dict[str, VenueOrder],
        last_events: dict[str, MarketEvent],
        *,
        next_order: int,
        next_exec: int,
        inflight: list[tuple[datetime, int, str, str]],
    ) -> None:
        """Take over a saved book (the paper broker's state file)."""
        self.orders, self.last_events = orders, last_events
        self.next_order, self.next_exec = next_order, next_exec
        self.inflight = sorted(inflight)
        self._cmd_seq = max((seq for _, seq, _, _ in inflight), default=0)
        self._working, self._open, self._timed, self._caps, self._changed = {}, {}, {}, {}, {}
        self._echo_ts = {}
        for cid, order in orders.items():
            if order.status.is_terminal:
                continue
            self._open[cid] = order
            if order.arrival is not None:
                self._working.setdefault(order.request.symbol, {})[cid] = order
                if order.deadline is not None:
                    self._timed[cid] = order
        self._rebuild_expiries()

    def drain_changes(self) -> list[VenueOrder]:
        """Orders changed since the last call, in the order they first changed."""
        changed = self._changed
        if not changed:
            return []
        self._changed = {}
        return list(changed.values())

    def working(self, symbol: str) -> list[VenueOrder]:
        return list(self._working.get(symbol, {}).values())

    def open_orders(self) -> list[VenueOrder]:
        """Every order not yet final (in flight included), in the order taken."""
        return list(self._open.values())

    def has_market(self, symbol: str) -> bool:
        return symbol in self.last_events

    # ---------------------------------------------------------------- time

    def advance(self, now: datetime) -> None:
        """Deliver what has arrived by ``now`` and expire what ran out before it."""
        while self.inflight and self.inflight[0][0] <= now:
            at, _, kind, client_order_id = heapq.heappop(self.inflight)
            order = self.orders[client_order_id]
            if kind == SUBMIT:
                self._arrive(order, at)
            else:
                self._cancel(order, at)
        expiries = self._expiries
        if expiries and expiries[0][0] < now:
            self._expire(now)

    def _expire(self, now: datetime) -> None:
        """Expire every working order whose deadline is before ``now``, in arrival order
        (the order they are reported in)."""
        expiries, timed = self._expiries, self._timed
        due: list[tuple[int, VenueOrder]] = []
        while expiries and expiries[0][0] < now:
            _, seq, cid = heapq.heappop(expiries)
            order = timed.get(cid)
            if order is not None:
                due.append((seq, order))
        due.sort(key=_first)
        for _, order in due:
            if order.deadline is not None:
                self._close(order, S.EXPIRED, order.deadline, "time in force ran out")

    def on_event(self, event: MarketEvent) -> None:
        """Trade the symbol's working orders against one market event."""
        symbol, now = event.symbol, event.ts
        if self.inflight or self._expiries:
            self.advance(now)
        if isinstance(event, Mark):
            if self._echo_ts.get(symbol) == now:
                self.last_events[symbol] = event  # the echo: nothing new traded
                return
            start = now
        else:
            start = now
            if isinstance(event, Bar):
                previous = self.last_events.get(symbol)
                start = event.start or (previous.ts if previous is not None else now)
            self._echo_ts[symbol] = now
        self._caps.pop(symbol, None)
        self.last_events[symbol] = event
        working = self._working.get(symbol)
        if not working:
            return
        path = price_path(event, start)
        strict = not self.fill_at_arrival
        for order in list(working.values()):
            arrival = order.arrival
            if arrival is None or arrival <= start:
                if strict and arrival == now:
                    continue  # decided at this event's time: not its prices
                self._match(order, path, event, now)
            elif not strict or arrival < now:
                self._match(order, path_from(path, arrival), event, now)
            else:
                continue  # arrived at the event's time: its prices were already stamped
            if order.request.time_in_force in _IMMEDIATE:
                self._finish_immediate(order, now)

    # ----------------------------------------------------------- internals

    def _send(self, at: datetime, kind: str, client_order_id: str) -> None:
        self._cmd_seq += 1
        heapq.heappush(self.inflight, (at, self._cmd_seq, kind, client_order_id))

    def _arrive(self, order: VenueOrder, at: datetime) -> None:
        if order.status.is_terminal:
            return  # canceled before it got here
        order.arrival = at
        order.deadline = ends = deadline(order.request, at, self.session)
        if ends is not None:
            if at > ends:
                self._close(order, S.EXPIRED, at, "time in force ran out before arrival")
                return
            self._add_timed(order, ends)
        request = order.request
        self._working.setdefault(request.symbol, {})[request.client_order_id] = order
        if not self.fill_at_arrival:
            return
        standing = self.last_events.get(request.symbol)
        if standing is not None and not isinstance(standing, Bar):
            tick = last_tick(standing)  # still the market when the order arrives
            here = Tick(tick.price, tick.bid, tick.ask, at)
            self._match(order, (here,), standing, at)
        if request.time_in_force in _IMMEDIATE:
            self._finish_immediate(order, at)

    def _add_timed(self, order: VenueOrder, ends: datetime) -> None:
        cid = order.request.client_order_id
        self._timed[cid] = order
        if len(self._expiries) > 2 * len(self._timed) + 64:
            self._rebuild_expiries()  # mostly orders that finished before their deadline
        else:
            self._timed_seq += 1
            heapq.heappush(self._expiries, (ends, self._timed_seq, cid))

    def _rebuild_expiries(self) -> None:
        """The heap from ``_timed`` alone, numbered in its (arrival) order."""
        self._expiries = [
            (order.deadline, seq, cid)
            for seq, (cid, order) in enumerate(self._timed.items(), start=1)
            if order.deadline is not None
        ]
        heapq.heapify(self._expiries)
        self._timed_seq = len(self._timed)

    def _cancel(self, order: VenueOrder, at: datetime) -> None:
        order.cancel_pending = False
        if order.status.is_open:
            self._close(order, S.CANCELED, at, "canceled")
        else:
            self._changed[order.request.client_order_id] = order

    def _close(self, order: VenueOrder, status: OrderStatus, at: datetime, reason: str) -> None:
        order.status, order.reason, order.ts = status, reason, at
        self._unlist(order)
        self._changed[order.request.client_order_id] = order

    def _unlist(self, order: VenueOrder) -> None:
        request = order.request
        cid = request.client_order_id
        working = self._working.get(request.symbol)
        if working is not None and working.get(cid) is order:
            del working[cid]
        self._timed.pop(cid, None)
        if self._open.get(cid) is order:
            del self._open[cid]
        if self._keep_final is not None:
            self._retire(cid)

    def _retire(self, cid: str) -> None:
        finals = self._finals
        finals.append(cid)
        while len(finals) > (self._keep_final or 0):
            old = self.orders.get(finals.popleft())
            if old is None or not old.status.is_terminal:
                continue
            del self.orders[old.request.client_order_id]
            self.retired.add(old)
            if self._on_retire is not None:
                self._on_retire(old)

    def _finish_immediate(self, order: VenueOrder, at: datetime) -> None:
        if not order.status.is_terminal:
            tif = order.request.time_in_force
            what = "nothing traded" if order.filled_qty == 0 else "rest canceled"
            self._close(order, S.CANCELED, at, f"{tif}: {what}")

    def _cap(self, symbol: str, side: Side, event: MarketEvent) -> Decimal | None:
        caps = self._caps.get(symbol)
        if caps is None:
            caps = self._caps[symbol] = {}
        elif side in caps:
            return caps[side]
        cap = caps[side] = self.fill_model.cap(event_volume(event, side))
        return cap

    def _match(
        self,
        order: VenueOrder,
        path: tuple[Tick, ...],
        event: MarketEvent,
        at: datetime,
    ) -> None:
        req = order.request
        if order.first_px is None:
            order.first_px = path[0].price
        leaves = req.qty - order.filled_qty
        cap = self._cap(req.symbol, req.side, event)
        qty = leaves if cap is None else min(leaves, cap)
        if req.time_in_force is TimeInForce.FOK and qty < leaves:
            qty = ZERO  # all or nothing: the trigger may still move, nothing trades
        if qty <= 0 and (order.triggered or req.stop_price is None):
            return  # nothing may trade, and there is no stop left to trigger
        volume = event_volume(event, req.side)
        found = match(
            req,
            order.triggered,
            path,
            self.fill_model.slippage,
            qty or leaves,
            volume,
            resting=order.resting,
        )
        order.triggered, order.resting = found.triggered, found.resting
        if found.price is None or qty <= 0:
            return
        when = found.ts or at
        liquidity = found.liquidity
        execution = Execution(
            exec_id=f"{order.broker_order_id}-E{self.next_exec}",
            last_qty=qty,
            last_px=found.price,
            commission=self.fee_model.commission(req.side, qty, found.price, liquidity),
            ts=when,
            liquidity=liquidity,
        )
        self.next_exec += 1
        if cap is not None:
            self._caps[req.symbol][req.side] = cap - qty
        order.executions.append(execution)
        order.filled_qty += qty
        order.ts = at
        if order.filled_qty == req.qty:
            order.status = S.FILLED
            self._unlist(order)
        else:
            order.status = S.PARTIALLY_FILLED
            if req.limit_price is not None and (req.stop_price is None or order.triggered):
                order.resting = True  # what is left of a limit waits in the book
        self._changed[req.client_order_id] = order


def _first(item: tuple[int, VenueOrder]) -> int:
    return item[0]
