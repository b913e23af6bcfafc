"""The risk ledger: what the loss breakers need to know about today, per account and
per strategy — realized P&L, trades, the losing streak and the intraday equity peak.

The engine feeds it every booked fill (:meth:`RiskLedger.on_fill`) and every equity
figure it learns (:meth:`RiskLedger.on_equity`). Everything is kept per trading day,
so a new day starts from zero without a reset call. After a restart the ledger is
rebuilt from the stored fills (:meth:`RiskLedger.from_fills`); the equity peak is not
in the fills, so the engine feeds the current equity again once it knows it.

A *trade* is one order: several fills of the same order count once when the engine
passes ``order_id``. A *closing fill* is one that realized P&L (the position shrank);
a closing fill with net P&L below zero extends the losing streak, any other closing
fill ends it. Opening fills leave the streak alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ordergate.domain.money import ZERO


@dataclass(slots=True)
class StrategyDay:
    """One strategy's day."""

    realized: Decimal = ZERO
    trades: int = 0
    loss_streak: int = 0


@dataclass(slots=True)
class AccountDay:
    """One account's day: its own totals, its strategies', and its equity path."""

    realized: Decimal = ZERO
    trades: int = 0
    loss_streak: int = 0
    equity_peak: Decimal | None = None
    equity_last: Decimal | None = None
    last_fill_at: datetime | None = None
    order_ids: set[str] = field(default_factory=set)
    exec_ids: set[str] = field(default_factory=set)
    strategies: dict[str, StrategyDay] = field(default_factory=dict)

    @property
    def drawdown_pct(self) -> Decimal:
        """How far equity is below today's peak, as a fraction of the peak (0.02 = 2 %)."""
        if self.equity_peak is None or self.equity_last is None or self.equity_peak <= 0:
            return ZERO
        return max(ZERO, (self.equity_peak - self.equity_last) / self.equity_peak)

    def strategy(self, strategy_id: str) -> StrategyDay:
        """The strategy's day (read-only: an unknown strategy gets a shared empty one)."""
        return self.strategies.get(strategy_id) or _NO_STRATEGY_DAY


_NO_STRATEGY_DAY = StrategyDay()
_NO_DAY = AccountDay()


class FillRecord(Protocol):
    """A stored fill as the ledger needs it (the ``fills`` table has every column)."""

    @property
    def account_id(self) -> str: ...
    @property
    def strategy_id(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def order_id(self) -> str: ...
    @property
    def exec_id(self) -> str: ...
    @property
    def realized_gross(self) -> Decimal: ...
    @property
    def commission(self) -> Decimal: ...
    @property
    def trading_day(self) -> str: ...
    @property
    def ts(self) -> datetime: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerFill:
    """A plain :class:`FillRecord`, for callers that have no row type of their own."""

    account_id: str = "default"
    strategy_id: str = "default"
    symbol: str
    order_id: str
    exec_id: str
    realized_gross: Decimal
    commission: Decimal = ZERO
    trading_day: str
    ts: datetime


class RiskLedger:
    """In-memory daily risk state; pure and synchronous, fed by the engine."""

    def __init__(self) -> None:
        self._days: dict[tuple[str, str], AccountDay] = {}

    def day(self, account_id: str, trading_day: str) -> AccountDay:
        """The account's state on ``trading_day``, to read: a day with nothing booked is
        one shared empty instance (gates call this on every order)."""
        return self._days.get((account_id, trading_day)) or _NO_DAY

    def on_fill(
        self,
        strategy_id: str,
        symbol: str,
        realized_pnl_net: Decimal,
        ts: datetime,
        trading_day: str,
        *,
        closing: bool,
        account_id: str = "default",
        order_id: str | None = None,
        exec_id: str | None = None,
        trade_id: str | None = None,
    ) -> None:
        """Book one fill. ``closing`` is ``realized_gross != 0`` for the fill (the rule
        :meth:`from_fills` uses, so a rebuilt ledger equals the live one). A repeated
        ``exec_id`` of the same order is ignored. ``trade_id`` is what the trade counts
        count (default: the order; an algorithm's child counts as its parent: one trade).
        """
        day = self._days.setdefault((account_id, trading_day), AccountDay())
        if exec_id is not None:
            key = f"{order_id or ''}\x1f{exec_id}"
            if key in day.exec_ids:
                return
            day.exec_ids.add(key)
        strat = day.strategies.setdefault(strategy_id, StrategyDay())
        day.realized += realized_pnl_net
        strat.realized += realized_pnl_net
        _count_trade(day.order_ids, trade_id or order_id, day, strat)
        if closing:
            if realized_pnl_net < 0:
                day.loss_streak += 1
                strat.loss_streak += 1
            else:
                day.loss_streak = 0
                strat.loss_streak = 0
        if day.last_fill_at is None or ts > day.last_fill_at:
            day.last_fill_at = ts

    def on_equity(self, equity: Decimal, trading_day: str, *, account_id: str = "default") -> None:
        """Record the account's equity; the day's peak is the highest figure seen."""
        day = self._days.setdefault((account_id, trading_day), AccountDay())
        day.equity_last = equity
        if day.equity_peak is None or equity > day.equity_peak:
            day.equity_peak = equity

    def prune(self, before_day: str) -> None:
        """Forget days before ``before_day`` (ISO dates sort as text)."""
        for key in [key for key in self._days if key[1] < before_day]:
            del self._days[key]

    @classmethod
    def from_fills(cls, fills: Iterable[FillRecord]) -> RiskLedger:
        """Rebuild from stored fills, in the order they were booked."""
        ledger = cls()
        for fill in fills:
            ledger.on_fill(
                fill.strategy_id,
                fill.symbol,
                fill.realized_gross - fill.commission,
                fill.ts,
                fill.trading_day,
                closing=fill.realized_gross != 0,
                account_id=fill.account_id,
                order_id=fill.order_id,
                exec_id=fill.exec_id,
                trade_id=trade_id(fill.order_id, getattr(fill, "parent_order_id", None)),
            )
        return ledger


#: The id prefix of an algorithm's parent order (``engine/algos.py``).
ALGO_PARENT_PREFIX = "alg_"


def trade_id(order_id: str, parent_order_id: str | None) -> str:
    """What a fill counts as for trade limits: an algorithm's child counts as its parent
    (a 200-slice TWAP is one trade), any other order as itself."""
    if parent_order_id and parent_order_id.startswith(ALGO_PARENT_PREFIX):
        return parent_order_id
    return order_id


def _count_trade(seen: set[str], order_id: str | None, day: AccountDay, strat: StrategyDay) -> None:
    if order_id is not None:
        if order_id in seen:
            return
        seen.add(order_id)
    day.trades += 1
    strat.trades += 1
