"""What the engine can tell about its orders, positions and P&L (reads only).

A base of :class:`~ordergate.engine.engine.ExecutionEngine`, kept apart so that the
engine module holds the submit path and nothing else.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from ordergate.clock import Clock
from ordergate.domain.errors import OrderNotFound
from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.order import Order
from ordergate.domain.positions import PnlSummary, Position
from ordergate.domain.report import ExecutionReport
from ordergate.engine.cash import CashLedger
from ordergate.store.base import OrderQuery, Store


def late_fill_candidates(store: Store, now: datetime, window_s: float) -> list[Order]:
    """Orders canceled or expired in the last ``window_s`` seconds with something left
    unfilled: a late fill can still reach them (seed 004), so they are still looked up."""
    since = now - timedelta(seconds=window_s)
    query = OrderQuery(status=("CANCELED", "EXPIRED"), limit=1000)
    return [
        o
        for o in store.list_orders(query)
        if o.updated_at >= since and o.filled_qty < o.qty and o.broker_order_id
    ]


class EngineQueries:
    store: Store
    clock: Clock
    cash: CashLedger
    #: a dry run: every report says its fills were simulated
    simulated: bool
    _tz: ZoneInfo
    _marks: dict[str, Mark]
    _marks_lock: threading.Lock

    def marks(self) -> dict[str, Mark]:
        with self._marks_lock:
            return dict(self._marks)

    # ------------------------------------------------------------- reads

    def order(self, order_id: str) -> Order:
        order = self.store.get_order(order_id)
        if order is None:
            raise OrderNotFound(f"no order {order_id}", context={"order_id": order_id})
        return order

    def orders(self, query: OrderQuery | None = None) -> list[Order]:
        return self.store.list_orders(query or OrderQuery())

    def fills(self, order_id: str) -> list[Fill]:
        return self.store.fills_for(order_id)

    def report(self, order_id: str, *, replayed: bool = False) -> ExecutionReport:
        order = self.order(order_id)
        return ExecutionReport.of(
            order,
            tuple(self.store.fills_for(order_id)),
            replayed=replayed,
            simulated=self.simulated,
        )

    def positions(self, account_id: str | None = None) -> list[Position]:
        return [
            p
            for p in self.store.positions(account_id)
            if p.qty != 0 or p.realized_gross or p.commission
        ]

    def pnl(self, account_id: str | None = None) -> PnlSummary:
        positions = self.store.positions(account_id)
        marks = self.marks()
        realized_gross = sum((p.realized_gross for p in positions), ZERO)
        commission = sum((p.commission for p in positions), ZERO)
        unrealized = sum(
            (
                p.unrealized_pnl(marks[p.symbol].last if p.symbol in marks else None)
                for p in positions
            ),
            ZERO,
        )
        daily: dict[str, Decimal] = {}
        for row in self.store.daily_pnl(account_id):
            daily[row.trading_day] = daily.get(row.trading_day, ZERO) + row.realized_pnl
        return PnlSummary(
            realized_pnl=realized_gross - commission,
            realized_gross=realized_gross,
            commission=commission,
            unrealized_pnl=unrealized,
            daily=daily,
        )

    def equity_pnl(self, account_id: str | None = None) -> Decimal:
        """Realized (net) plus unrealized P&L at the marks: what equity moves by."""
        marks = self.marks()
        total = ZERO
        for p in self.store.positions(account_id):
            mark = marks.get(p.symbol)
            total += p.realized_pnl + p.unrealized_pnl(None if mark is None else mark.last)
        return total

    def equity(self, account_id: str) -> Decimal | None:
        """Cash (the cash ledger) plus positions at their last marks; ``None`` while a
        held symbol has no mark."""
        with self._marks_lock:
            return self.cash.equity(account_id, self._marks)

    def trading_day(self, when: datetime | None = None) -> str:
        return (when or self.clock.now()).astimezone(self._tz).date().isoformat()
