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

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ordergate.domain.money import ZERO

#: A key split into its digit runs: ASCII digits only (``\d`` would take other scripts'
#: digits, which ``int`` reads as the same number: two keys, one code).
_DIGITS = re.compile(r"([0-9]+)")
#: Keys whose digits fit 128 bits (two 64-bit words) are packed; longer ones kept whole.
_MAX_DIGITS = 38
#: Keys with more digit runs than this (random hex ids: each its own shape) are kept whole.
_MAX_RUNS = 4
#: How many packed numbers wait in a plain set before they join the sorted arrays.
_RECENT = 4096
_WORD = (1 << 64) - 1
#: A key's shape: the texts between its digit runs, then each run's width.
_Shape = tuple[str | int, ...]


class SeenIds:
    """An exact set of ids ("seen this id today?") that holds sequential ids in 16 bytes.

    A day of a backtest books millions of fills whose ids are a fixed text with counters
    in it (``ord_000000000042``, ``ord_000000000042\\x1fSIM42-E42``). A key is split
    into its *shape* — the text between its ASCII digit runs and each run's width — and
    the number its digits spell, read as one integer. The split is a bijection: the shape
    and the number zero-padded to the shape's total width give the key back, so two keys
    share a (shape, number) only if they are the same key, and membership is exact (no
    hashing, no false positives, nothing forgotten). Per shape the numbers live in two
    sorted ``array('Q')`` columns (high and low 64 bits) plus a small set of the latest;
    ids that grow, as sequential ids do, join the arrays' end, and the rare one that
    does not is merged into their tail. Keys that do not pack (more than 38 digits or
    four digit runs: random ids, a few a day in live trading) stay in a plain set.
    """

    __slots__ = ("_high", "_low", "_plain", "_recent", "_size")

    def __init__(self) -> None:
        self._plain: set[str] = set()
        self._recent: dict[_Shape, set[int]] = {}
        self._high: dict[_Shape, array[int]] = {}
        self._low: dict[_Shape, array[int]] = {}
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __eq__(self, other: object) -> bool:
        """The same ids, however they were split between the recent set and the arrays."""
        if not isinstance(other, SeenIds):
            return NotImplemented
        return self._size == other._size and self._numbers() == other._numbers()

    __hash__ = None  # type: ignore[assignment]  # mutable, like set

    def _numbers(self) -> tuple[set[str], dict[_Shape, set[int]]]:
        numbers = {shape: set(recent) for shape, recent in self._recent.items()}
        for shape, low in self._low.items():
            high = self._high[shape]
            numbers[shape].update(h << 64 | lo for h, lo in zip(high, low, strict=True))
        return self._plain, {shape: found for shape, found in numbers.items() if found}

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        packed = _pack(key)
        if packed is None:
            return key in self._plain
        return self._has(*packed)

    def add(self, key: str) -> bool:
        """Add ``key``; False if it was already there."""
        packed = _pack(key)
        if packed is None:
            if key in self._plain:
                return False
            self._plain.add(key)
        else:
            shape, number = packed
            if self._has(shape, number):
                return False
            recent = self._recent.setdefault(shape, set())
            recent.add(number)
            if len(recent) >= _RECENT:
                self._settle(shape, recent)
        self._size += 1
        return True

    def _has(self, shape: _Shape, number: int) -> bool:
        if number in self._recent.get(shape, ()):
            return True
        low = self._low.get(shape)
        if not low:
            return False
        high, word = self._high[shape], number >> 64
        start = bisect_left(high, word)
        end = bisect_right(high, word, start)
        i = bisect_left(low, number & _WORD, start, end)
        return i < end and low[i] == number & _WORD

    def _settle(self, shape: _Shape, recent: set[int]) -> None:
        """Move the recent numbers into the shape's sorted columns."""
        high = self._high.setdefault(shape, array("Q"))
        low = self._low.setdefault(shape, array("Q"))
        news = sorted(recent)
        recent.clear()
        if low and news[0] < (high[-1] << 64 | low[-1]):
            # some arrived late: merge them with the part of the columns they fall in
            word = news[0] >> 64
            at = bisect_left(high, word)
            at = bisect_left(low, news[0] & _WORD, at, bisect_right(high, word, at))
            tail = [h << 64 | lo for h, lo in zip(high[at:], low[at:], strict=True)]
            news = sorted(tail + news)
            del high[at:], low[at:]
        high.extend(n >> 64 for n in news)
        low.extend(n & _WORD for n in news)


def _pack(key: str) -> tuple[_Shape, int] | None:
    """``(shape, number)`` for a key whose digits pack into 128 bits, else None."""
    parts = _DIGITS.split(key)
    runs = parts[1::2]
    if not runs or len(runs) > _MAX_RUNS:
        return None
    digits = "".join(runs)
    if len(digits) > _MAX_DIGITS:
        return None
    # the texts between the runs (str) then the runs' widths (int): never confused
    return (*parts[0::2], *map(len, runs)), int(digits)


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
    order_ids: SeenIds = field(default_factory=SeenIds)
    exec_ids: SeenIds = field(default_factory=SeenIds)
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
        if exec_id is not None and not day.exec_ids.add(f"{order_id or ''}\x1f{exec_id}"):
            return
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


def _count_trade(seen: SeenIds, order_id: str | None, day: AccountDay, strat: StrategyDay) -> None:
    if order_id is not None and not seen.add(order_id):
        return
    day.trades += 1
    strat.trades += 1
