"""The exchange's order book: matching like the paper broker, kept in its own SQLite.

Every change — a new order, a fill, a cancel — is one SQLite transaction that writes
the order's state *and* appends its execution report, so the venue's memory survives
the exchange being killed, and the report stream never disagrees with the book.

Matching: market and stop orders fill at the touch (``ask`` for a buy, ``bid`` for a
sell, ``last`` when no quote) with no slippage, so averages stay exact; a limit fills
at its limit or better when marketable, else rests until a mark crosses it; IOC/FOK
with nothing to take are canceled. Fees follow the paper broker's per-share model.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.positions import Position, book
from ordergate.domain.wire import Execution, OrderRequest
from ordergate.exchange.faults import RequestFaults
from ordergate.exchange.orders import XOrder
from ordergate.sim.fees import FeeModel, PerShareFee
from ordergate.sim.fills import marketable_price, stop_triggered

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    broker_order_id TEXT PRIMARY KEY, client_order_id TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_cid ON orders (client_order_id);
CREATE TABLE IF NOT EXISTS reports (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS marks (symbol TEXT PRIMARY KEY, body TEXT NOT NULL);
"""


class Rejected(Exception):
    """The venue said no; the rejected order is recorded and carried along."""

    def __init__(self, reason: str, view: dict[str, Any]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.view = view


class ExchangeBook:
    """Orders, fills, marks and the report log of one simulated venue."""

    def __init__(
        self,
        path: str | Path,
        *,
        fees: FeeModel | None = None,
        starting_cash: Decimal = Decimal(1_000_000),
        tradable: frozenset[str] | None = None,
    ) -> None:
        self._fees = fees or PerShareFee()
        self._cash = starting_cash
        self._tradable = tradable
        self.lock = threading.RLock()
        self.reported = threading.Condition(self.lock)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)
        self._orders: dict[str, XOrder] = {}
        self._by_cid: dict[str, list[str]] = {}
        self._marks: dict[str, Mark] = {}
        self._reports: list[tuple[int, str]] = []
        self._load()

    def _load(self) -> None:
        for bid, cid, body in self._db.execute(
            "SELECT broker_order_id, client_order_id, body FROM orders ORDER BY rowid"
        ):
            self._orders[bid] = XOrder.from_row(body)
            self._by_cid.setdefault(cid, []).append(bid)
        for (body,) in self._db.execute("SELECT body FROM marks"):
            d = json.loads(body)
            self._marks[d["symbol"]] = Mark.parse(d["symbol"], d, datetime.fromisoformat(d["ts"]))
        self._reports = list(self._db.execute("SELECT seq, body FROM reports ORDER BY seq"))

    # ------------------------------------------------------------ writes

    def _commit(self, orders: list[XOrder], mark: Mark | None = None) -> None:
        """Save the orders and append one report each, atomically; wake the stream."""
        seq = self._reports[-1][0] if self._reports else 0
        added: list[tuple[int, str]] = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for order in orders:
                self._db.execute(
                    "INSERT INTO orders (broker_order_id, client_order_id, body) VALUES (?, ?, ?) "
                    "ON CONFLICT (broker_order_id) DO UPDATE SET body = excluded.body",
                    (order.broker_order_id, order.request.client_order_id, order.to_row()),
                )
                seq += 1
                body = json.dumps(order.view())
                self._db.execute("INSERT INTO reports (seq, body) VALUES (?, ?)", (seq, body))
                added.append((seq, body))
            if mark is not None:
                self._db.execute(
                    "INSERT INTO marks (symbol, body) VALUES (?, ?) ON CONFLICT (symbol) "
                    "DO UPDATE SET body = excluded.body",
                    (mark.symbol, json.dumps(mark.to_dict())),
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._reports.extend(added)
        self.reported.notify_all()

    def submit(
        self, request: OrderRequest, faults: RequestFaults, *, dedupe: bool
    ) -> tuple[dict[str, Any], bool]:
        """Accept (and maybe fill) an order; return (view, was a duplicate)."""
        with self.lock:
            known = self._by_cid.get(request.client_order_id)
            if dedupe and known:
                existing = self._orders[known[0]]
                if existing.status is OrderStatus.REJECTED:
                    raise Rejected(existing.reason, existing.view())
                return existing.view(), True
            now = datetime.now(UTC)
            order = XOrder(
                request=request,
                broker_order_id=f"X{len(self._orders) + 1}",
                status=OrderStatus.ACCEPTED,
                ts=now,
                fill_parts=faults.fill_parts,
                part_gap_s=faults.part_gap_s,
                late_fill_s=faults.late_fill_s,
            )
            if faults.hide_s is not None:
                order.hidden_until = now.timestamp() + faults.hide_s
            reason = self._reject_reason(request, faults)
            if reason:
                order.status, order.reason = OrderStatus.REJECTED, reason
            elif faults.delay_fill_s is not None:
                order.not_before = now.timestamp() + faults.delay_fill_s
            else:
                self._match(order, now)
            self._orders[order.broker_order_id] = order
            self._by_cid.setdefault(request.client_order_id, []).append(order.broker_order_id)
            self._commit([order])
            if reason:
                raise Rejected(reason, order.view())
            return order.view(), False

    def _reject_reason(self, request: OrderRequest, faults: RequestFaults) -> str:
        if faults.reject:
            return "rejected by the venue (fault injected)"
        if request.qty <= 0:
            return "quantity must be positive"
        if self._tradable is not None and request.symbol not in self._tradable:
            return f"symbol {request.symbol} is not tradable"
        if request.order_type is OrderType.MARKET and request.symbol not in self._marks:
            return f"no market for {request.symbol}"
        return ""

    def cancel(self, client_order_id: str) -> dict[str, Any] | None:
        with self.lock:
            order = self._first(client_order_id)
            if order is None:
                return None
            if order.status.is_open:
                order.status, order.reason = OrderStatus.CANCELED, "canceled"
                order.ts = datetime.now(UTC)
                order.not_before = None
                if order.late_fill_s is not None:
                    order.late_due = order.ts.timestamp() + order.late_fill_s
                self._commit([order])
            return order.view()

    def replace(
        self,
        client_order_id: str,
        *,
        replace_id: str,
        qty: Decimal | None,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
    ) -> dict[str, Any] | None:
        """Change a working order in place (``None``: that term stays) and match it on
        its new terms; ``None`` for an unknown order. A replace already applied (its
        ``replace_id``) returns the order as it is. Raises :class:`Rejected` when the
        order is final or the new total quantity is not above what has filled."""
        with self.lock:
            order = self._first(client_order_id)
            if order is None:
                return None
            if replace_id in order.replaces:
                return order.view()
            req = order.request
            new_qty = req.qty if qty is None else qty
            reason = ""
            if not order.status.is_open:
                reason = f"order {client_order_id} is {order.status}: too late to replace"
            elif new_qty <= order.filled:
                reason = (
                    f"quantity {fmt(new_qty)} is at or below the {fmt(order.filled)} already "
                    f"filled of order {client_order_id}"
                )
            if reason:
                raise Rejected(reason, order.view())
            order.request = dataclasses.replace(
                req,
                qty=new_qty,
                limit_price=req.limit_price if limit_price is None else limit_price,
                stop_price=req.stop_price if stop_price is None else stop_price,
            )
            order.replaces.append(replace_id)
            now = datetime.now(UTC)
            order.ts = now
            self._match(order, now)
            self._commit([order])
            return order.view()

    def quote(self, symbol: str) -> Mark | None:
        """The venue's last price for ``symbol`` (what it would match against)."""
        with self.lock:
            return self._marks.get(symbol.upper())

    def mark(self, mark: Mark) -> int:
        """A new price: fill what it makes marketable; return how many orders traded."""
        with self.lock:
            self._marks[mark.symbol] = mark
            changed = [
                o
                for o in self._orders.values()
                if o.status.is_open and o.request.symbol == mark.symbol and self._match(o, mark.ts)
            ]
            self._commit(changed, mark)
            return len(changed)

    def run_due(self, now: float) -> int:
        """Delayed fills, partial fills and late fills whose time has come."""
        with self.lock:
            changed: list[XOrder] = []
            stamp = datetime.fromtimestamp(now, UTC)
            for order in self._orders.values():
                if order.late_due is not None and order.late_due <= now:
                    order.late_due = None
                    if self._late_fill(order, stamp):
                        changed.append(order)
                elif (
                    order.status.is_open
                    and order.not_before is not None
                    and order.not_before <= now
                ):
                    order.not_before = None
                    if self._match(order, stamp):
                        changed.append(order)
            if changed:
                self._commit(changed)
            return len(changed)

    # ---------------------------------------------------------- matching

    def _price(self, order: XOrder) -> Decimal | None:
        req = order.request
        mark = self._marks.get(req.symbol)
        if mark is None:
            return None
        if req.stop_price is not None and not order.triggered:
            if not stop_triggered(req.side, req.stop_price, mark):
                return None
            order.triggered = True
        touch = mark.ask if req.side is Side.BUY else mark.bid
        return marketable_price(req.side, req.order_type, req.limit_price, touch or mark.last)

    def _match(self, order: XOrder, now: datetime) -> bool:
        """Fill what can be filled now; return whether the order changed."""
        if order.not_before is not None:
            return False
        price = self._price(order)
        leaves = order.request.qty - order.filled
        if price is None or leaves <= 0:
            if order.request.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
                order.status, order.reason, order.ts = OrderStatus.CANCELED, "nothing to take", now
                return True
            return False
        parts = _split(leaves, order.fill_parts - len(order.executions))
        if order.part_gap_s > 0 and len(parts) > 1:
            parts = parts[:1]
            order.not_before = now.timestamp() + order.part_gap_s
        for qty in parts:
            self._execute(order, qty, price, now)
        order.status = (
            OrderStatus.FILLED
            if order.filled == order.request.qty
            else OrderStatus.PARTIALLY_FILLED
        )
        order.ts = now
        return True

    def _late_fill(self, order: XOrder, now: datetime) -> bool:
        mark = self._marks.get(order.request.symbol)
        leaves = order.request.qty - order.filled
        if mark is None or leaves <= 0:
            return False
        self._execute(order, leaves, order.request.limit_price or mark.last, now)
        order.status, order.reason, order.ts = OrderStatus.FILLED, "filled after cancel", now
        return True

    def _execute(self, order: XOrder, qty: Decimal, price: Decimal, now: datetime) -> None:
        req = order.request
        liquidity = "T" if req.order_type in (OrderType.MARKET, OrderType.STOP) else "M"
        order.executions.append(
            Execution(
                exec_id=f"{order.broker_order_id}-E{len(order.executions) + 1}",
                last_qty=qty,
                last_px=price,
                commission=self._fees.commission(req.side, qty, price),
                ts=now,
                liquidity=liquidity,
            )
        )

    # ------------------------------------------------------------- reads

    def _first(self, client_order_id: str) -> XOrder | None:
        ids = self._by_cid.get(client_order_id)
        return self._orders[ids[0]] if ids else None

    def lookup(self, client_order_id: str) -> dict[str, Any] | None:
        """The order as a query shows it (not while the ``hide_ms`` fault hides it)."""
        with self.lock:
            order = self._first(client_order_id)
            if order is None or order.hidden(time.time()):
                return None
            return order.view()

    def orders(self, *, open_only: bool) -> list[dict[str, Any]]:
        with self.lock:
            now = time.time()
            return [
                o.view()
                for o in self._orders.values()
                if (o.status.is_open or not open_only) and not o.hidden(now)
            ]

    def positions(self, account_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            books: dict[tuple[str, str], Position] = {}
            fills = [
                (e.ts, order.request, e)
                for order in self._orders.values()
                if account_id in (None, order.request.account_id)
                for e in order.executions
            ]
            fills.sort(key=lambda item: item[0])  # average cost is booked in time order
            for _, req, e in fills:
                key = (req.account_id, req.symbol)
                pos = books.setdefault(key, Position(account_id=req.account_id, symbol=req.symbol))
                pos.apply_fill(req.side, e.last_qty, e.last_px, e.commission)
            return [
                {
                    "account_id": p.account_id,
                    "symbol": p.symbol,
                    "qty": fmt(p.qty),
                    "avg_price": fmt(p.avg_price),
                }
                for p in books.values()
                if p.qty != 0
            ]

    def account(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            cash = self._cash
            equity_extra = ZERO
            for order in self._orders.values():
                req = order.request
                if req.account_id != account_id:
                    continue
                for e in order.executions:
                    cash -= book(e.last_qty * e.last_px * req.side.sign) + book(e.commission)
                    mark = self._marks.get(req.symbol)
                    equity_extra += e.last_qty * req.side.sign * (mark.last if mark else e.last_px)
            return {
                "account_id": account_id,
                "cash": fmt(cash),
                "equity": fmt(cash + equity_extra),
                "buying_power": fmt(cash),
                "currency": "USD",
            }

    def reports_after(self, seq: int, limit: int = 500) -> tuple[list[dict[str, Any]], int]:
        """Reports with a sequence number above ``seq`` (oldest first), and the last seq."""
        with self.lock:
            start = _first_after(self._reports, seq)
            batch = self._reports[start : start + limit]
            out = [{"seq": s, "order": json.loads(body)} for s, body in batch]
            return out, (batch[-1][0] if batch else seq)

    @property
    def last_seq(self) -> int:
        with self.lock:
            return self._reports[-1][0] if self._reports else 0

    def close(self) -> None:
        with self.lock:
            self._db.close()


def _first_after(reports: list[tuple[int, str]], seq: int) -> int:
    """Index of the first report with a sequence number above ``seq`` (bisect)."""
    lo, hi = 0, len(reports)
    while lo < hi:
        mid = (lo + hi) // 2
        if reports[mid][0] <= seq:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _split(qty: Decimal, parts: int) -> list[Decimal]:
    """``qty`` as ``parts`` executions (whole units where possible), at least one."""
    if parts <= 1 or qty != qty.to_integral_value() or qty < parts:
        return [qty]
    each = (qty / parts).to_integral_value(rounding="ROUND_FLOOR")
    return [each] * (parts - 1) + [qty - each * (parts - 1)]
