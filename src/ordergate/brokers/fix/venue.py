"""The acceptor's book: orders, ClOrdID chains, matching against a mark, positions.

Plain Python, no FIX: the acceptor (``acceptor.py``) turns FIX requests into calls
here and the :class:`Event` lists these return into ExecutionReports. It matches like
the simulated exchange: a market order, or a limit that crosses the mark, fills at the
mark; other limits rest until :meth:`Book.trade`. Every ClOrdID ever used (a chain's
cancel and replace ids too) is refused again (OrdRejReason 6).
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ZERO = Decimal(0)
OPEN = frozenset({"0", "1", "6", "A", "E"})


@dataclass(slots=True)
class Fill:
    exec_id: str
    qty: Decimal
    px: Decimal
    commission: Decimal


@dataclass(slots=True)
class VenueOrder:
    order_id: str
    chain: list[str]
    account: str
    symbol: str
    side: str  # "1" buy, "2" sell
    qty: Decimal
    ord_type: str
    tif: str
    price: Decimal | None
    stop_px: Decimal | None
    status: str = "0"
    fills: list[Fill] = field(default_factory=list)
    parts: int = 1
    cancel_race: bool = False
    hidden_until: float = 0.0

    @property
    def current(self) -> str:
        return self.chain[-1]

    @property
    def cum(self) -> Decimal:
        return sum((f.qty for f in self.fills), ZERO)

    @property
    def leaves(self) -> Decimal:
        return ZERO if self.status not in OPEN else self.qty - self.cum

    @property
    def avg(self) -> Decimal:
        cum = self.cum
        return sum((f.qty * f.px for f in self.fills), ZERO) / cum if cum else ZERO

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "chain": self.chain,
            "account": self.account,
            "symbol": self.symbol,
            "side": self.side,
            "qty": str(self.qty),
            "status": self.status,
            "price": None if self.price is None else str(self.price),
            "fills": [
                {"exec_id": f.exec_id, "qty": str(f.qty), "px": str(f.px),
                 "commission": str(f.commission)}
                for f in self.fills
            ],
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Event:
    """One ExecutionReport to send: what happened to which order, and the order's
    state as of then (so that reports sent late or reordered each say their moment)."""

    order: VenueOrder
    exec_type: str
    cl_ord_id: str
    status: str
    cum: Decimal
    avg: Decimal
    leaves: Decimal
    qty: Decimal
    price: Decimal | None
    orig_cl_ord_id: str | None = None
    fill: Fill | None = None
    text: str = ""
    rej_reason: str | None = None
    #: the ExecID a trade cancel (150=H) or correct (150=G) refers to
    exec_ref_id: str | None = None


def event(order: VenueOrder, exec_type: str, cl_ord_id: str, **more: Any) -> Event:
    status = "8" if exec_type == "8" else order.status
    leaves = ZERO if exec_type == "8" else order.leaves
    return Event(order, exec_type, cl_ord_id, status, order.cum, order.avg, leaves, order.qty,
                 order.price, **more)  # fmt: skip


class Refused(Exception):
    """A cancel or replace refused (OrderCancelReject): CxlRejReason and words."""

    def __init__(
        self, reason: str, text: str, order: VenueOrder | None, events: list[Event] | None = None
    ) -> None:
        super().__init__(text)
        self.reason, self.text, self.order = reason, text, order
        #: reports to send before the refusal (the fills a raced cancel lost to)
        self.events = events or []


class Book:
    def __init__(
        self,
        marks: dict[str, Decimal],
        *,
        commission: Decimal = ZERO,
        state_file: Path | None = None,
    ) -> None:
        self.marks = dict(marks)
        self.commission = commission
        self.state_file = state_file
        self.orders: dict[str, VenueOrder] = {}
        self.ids: dict[str, str] = {}
        self.lock = threading.RLock()
        self._order_ids = itertools.count(1)
        self._exec_ids = itertools.count(1)
        self.day = datetime.now(UTC).strftime("%Y%m%d")

    def find(self, cl_ord_id: str) -> VenueOrder | None:
        order_id = self.ids.get(cl_ord_id)
        return None if order_id is None else self.orders.get(order_id)

    def new(
        self,
        cl_ord_id: str,
        *,
        parts: int = 1,
        cancel_race: bool = False,
        hidden_until: float = 0.0,
        **terms: Any,
    ) -> list[Event]:
        """Take an order (or refuse a repeated ClOrdID); fill it if it is marketable."""
        with self.lock:
            existing = self.find(cl_ord_id)
            if existing is not None:
                return [
                    event(existing, "8", cl_ord_id, text=f"duplicate ClOrdID {cl_ord_id}",
                          rej_reason="6")
                ]  # fmt: skip
            order = VenueOrder(order_id=f"O{next(self._order_ids)}", chain=[cl_ord_id], **terms)
            order.parts, order.cancel_race, order.hidden_until = parts, cancel_race, hidden_until
            self.orders[order.order_id] = order
            self.ids[cl_ord_id] = order.order_id
            if order.symbol not in self.marks:
                order.status = "8"
                self.save()
                return [event(order, "8", cl_ord_id, text=f"unknown symbol {order.symbol}",
                              rej_reason="1")]  # fmt: skip
            events = [event(order, "0", cl_ord_id)]
            if self._marketable(order):
                events += self._fill(order, self.marks[order.symbol])
            self.save()
            return events

    def reject(self, cl_ord_id: str, text: str, **terms: Any) -> list[Event]:
        """Refuse an order outright (a fault, or a risk check of the venue)."""
        with self.lock:
            if self.find(cl_ord_id) is not None:
                return self.new(cl_ord_id, **terms)  # the duplicate answer
            order = VenueOrder(order_id=f"O{next(self._order_ids)}", chain=[cl_ord_id], **terms)
            order.status = "8"
            self.orders[order.order_id] = order
            self.ids[cl_ord_id] = order.order_id
            self.save()
            return [event(order, "8", cl_ord_id, text=text, rej_reason="99")]

    def cancel(self, cl_ord_id: str, orig: str) -> list[Event]:
        with self.lock:
            order = self.find(orig)
            if order is None:
                raise Refused("1", f"unknown order {orig}", None)
            if cl_ord_id in self.ids:
                raise Refused("6", f"duplicate ClOrdID {cl_ord_id}", order)
            if order.cancel_race and order.status in OPEN:
                events = self._fill(order, order.price or self.marks[order.symbol])
                self.save()
                raise Refused("0", "too late to cancel: filled", order, events)
            if order.status not in OPEN:
                raise Refused("0", f"too late to cancel: order is {order.status}", order)
            self.ids[cl_ord_id] = order.order_id
            order.chain.append(cl_ord_id)
            order.status = "4"
            self.save()
            return [event(order, "4", cl_ord_id, orig_cl_ord_id=orig)]

    def replace(
        self, cl_ord_id: str, orig: str, qty: Decimal, price: Decimal | None
    ) -> list[Event]:
        with self.lock:
            order = self.find(orig)
            if order is None:
                raise Refused("1", f"unknown order {orig}", None)
            if cl_ord_id in self.ids:
                raise Refused("6", f"duplicate ClOrdID {cl_ord_id}", order)
            if order.status not in OPEN:
                raise Refused("0", f"too late to replace: order is {order.status}", order)
            if qty < order.cum:
                raise Refused("99", f"quantity {qty} is below what filled ({order.cum})", order)
            self.ids[cl_ord_id] = order.order_id
            order.chain.append(cl_ord_id)
            order.qty, order.price = qty, price
            events = [event(order, "5", cl_ord_id, orig_cl_ord_id=orig)]
            if order.cum == order.qty:
                order.status = "2"
            elif self._marketable(order):
                events += self._fill(order, self.marks[order.symbol])
            self.save()
            return events

    def trade(self, cl_ord_id: str, px: Decimal | None = None) -> list[Event]:
        """The market trades a resting order: all of what is left, in its parts."""
        with self.lock:
            order = self.find(cl_ord_id)
            if order is None or order.status not in OPEN:
                return []
            events = self._fill(order, px or order.price or self.marks[order.symbol])
            self.save()
            return events

    def bust(self, cl_ord_id: str, exec_id: str) -> list[Event]:
        """Cancel the trade ``exec_id`` (150=H): it leaves the order; a filled order
        that loses it is done (canceled), a working one works on."""
        return self._amend(cl_ord_id, exec_id, None)

    def correct(self, cl_ord_id: str, exec_id: str, qty: Decimal, px: Decimal) -> list[Event]:
        """Correct the trade ``exec_id`` (150=G) to ``qty`` at ``px``."""
        return self._amend(cl_ord_id, exec_id, (qty, px))

    def _amend(
        self, cl_ord_id: str, exec_id: str, to: tuple[Decimal, Decimal] | None
    ) -> list[Event]:
        with self.lock:
            order = self.find(cl_ord_id)
            trade = next((f for f in order.fills if f.exec_id == exec_id), None) if order else None
            if order is None or trade is None:
                return []
            was_filled = order.status == "2"
            if to is None:
                order.fills.remove(trade)
                amendment = Fill(f"H{next(self._exec_ids)}", trade.qty, trade.px, ZERO)
            else:
                trade.qty, trade.px = to
                amendment = Fill(f"G{next(self._exec_ids)}", trade.qty, trade.px, trade.commission)
            if order.cum == order.qty:
                order.status = "2"
            elif was_filled:
                order.status = "4"
            elif order.status in OPEN:
                order.status = "1" if order.cum else "0"
            kind = "H" if to is None else "G"
            events = [event(order, kind, order.current, fill=amendment, exec_ref_id=exec_id)]
            self.save()
            return events

    def _marketable(self, order: VenueOrder) -> bool:
        mark = self.marks[order.symbol]
        if order.ord_type == "1":
            return True
        if order.ord_type != "2" or order.price is None:
            return False
        return order.price >= mark if order.side == "1" else order.price <= mark

    def _fill(self, order: VenueOrder, px: Decimal) -> list[Event]:
        if order.ord_type == "1" or (order.price is not None and self._marketable(order)):
            px = self.marks[order.symbol]
        left = order.qty - order.cum
        parts = max(1, min(order.parts, int(left)))
        sizes = [left // parts] * parts
        sizes[-1] += left - sum(sizes)
        events = []
        for size in sizes:
            fill = Fill(f"E{next(self._exec_ids)}", size, px, self.commission)
            order.fills.append(fill)
            order.status = "2" if order.cum == order.qty else "1"
            events.append(event(order, "F", order.current, fill=fill))
        return events

    def positions(self, account: str) -> dict[str, tuple[Decimal, Decimal]]:
        """Net quantity and average cost per symbol (as the adapter computes them)."""
        qty: dict[str, Decimal] = {}
        avg: dict[str, Decimal] = {}
        for order in self.orders.values():
            if order.account != account:
                continue
            for f in order.fills:
                signed = f.qty if order.side == "1" else -f.qty
                before = qty.get(order.symbol, ZERO)
                after = before + signed
                if before == 0 or (before > 0) != (signed > 0):
                    if after == 0:
                        avg[order.symbol] = ZERO
                    elif before == 0 or (before > 0) != (after > 0):
                        avg[order.symbol] = f.px
                else:
                    avg[order.symbol] = (before * avg[order.symbol] + signed * f.px) / after
                qty[order.symbol] = after
        return {s: (q, avg[s]) for s, q in qty.items() if q != 0}

    def save(self) -> None:
        """The book as JSON, replaced atomically (for checks from another process)."""
        if self.state_file is None:
            return
        data = {"orders": [o.to_dict() for o in self.orders.values()]}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.state_file)
