"""The parents one algorithm desk works, and the market volume printed since each
one's start.

The set is read from the parent book on first use and again every so often
(:meth:`WorkingParents.reload`): another process — a command line — records parents
and changes them, and a restarted engine takes up those it was working. Between
writes, the volume of every mark of a parent's symbol since its start is counted here
(:meth:`WorkingParents.on_mark`) and folded into the parent at its next step
(:meth:`WorkingParents.absorb`): POV reads it, and the interval VWAP of its TCA.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from decimal import Decimal

from ordergate.algos.parent import ParentOrder
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.store.parents import ParentBook


@dataclass(slots=True)
class _Flow:
    """Volume and price x volume printed since a parent's start, not yet written."""

    volume: Decimal = ZERO
    notional: Decimal = ZERO


class WorkingParents:
    """The working parents by id and by symbol, with the volume they have not taken up.

    The caller holds its own lock around the parents; the volume counters have one of
    their own, because marks arrive on the engine's thread while a step runs."""

    def __init__(self) -> None:
        self._flow_lock = threading.Lock()
        self._working: dict[str, ParentOrder] | None = None
        self._by_symbol: dict[str, set[str]] = {}
        self._flow: dict[str, _Flow] = {}
        #: the symbols with a working parent: what a mark is tested against (a set,
        #: read without the lock: the engine marks every tick, mostly with none)
        self.symbols: set[str] = set()

    @property
    def loaded(self) -> bool:
        return self._working is not None

    @property
    def empty(self) -> bool:
        """True once loaded with nothing to work (a backtest's usual tick)."""
        return self._working is not None and not self._working

    def parents(self, book: ParentBook) -> dict[str, ParentOrder]:
        """The working parents, read from ``book`` the first time."""
        if self._working is None:
            self._working = {}
            self.reload(book)
        return self._working

    def reload(self, book: ParentBook) -> None:
        """Take up the working parents of ``book`` not known here."""
        known = self.parents(book)
        for parent in book.working():
            if parent.parent_id not in known:
                self.track(parent)

    def get(self, parent_id: str) -> ParentOrder | None:
        return (self._working or {}).get(parent_id)

    def put(self, parent: ParentOrder) -> None:
        """Keep the newer state of a parent already tracked (or about to be)."""
        if self._working is None:
            self._working = {}
        self._working[parent.parent_id] = parent

    def track(self, parent: ParentOrder) -> None:
        self.put(parent)
        with self._flow_lock:
            self._by_symbol.setdefault(parent.symbol, set()).add(parent.parent_id)
            self._flow.setdefault(parent.parent_id, _Flow())
            self.symbols.add(parent.symbol)

    def untrack(self, parent: ParentOrder) -> None:
        if self._working is not None:
            self._working.pop(parent.parent_id, None)
        with self._flow_lock:
            ids = self._by_symbol.get(parent.symbol)
            if ids is not None:
                ids.discard(parent.parent_id)
                if not ids:
                    del self._by_symbol[parent.symbol]
                    self.symbols.discard(parent.symbol)
            self._flow.pop(parent.parent_id, None)

    def watches(self, symbol: str) -> bool:
        return symbol in self.symbols

    def on_mark(self, symbol: str, mark: Mark) -> None:
        """Count a mark's volume (what printed since the last) for every working parent
        of ``symbol`` whose window has started."""
        if mark.volume is None or mark.volume <= 0:
            return
        with self._flow_lock:
            for parent_id in self._by_symbol.get(symbol, ()):
                parent = self.get(parent_id)
                if parent is None or parent.intent.algo is None:
                    continue
                start, _ = parent.intent.algo.window(parent.created_at)
                if mark.ts < start:
                    continue
                flow = self._flow.setdefault(parent_id, _Flow())
                flow.volume += mark.volume
                flow.notional += mark.volume * mark.last

    def absorb(self, parent: ParentOrder) -> ParentOrder:
        """``parent`` with the volume counted since its last step folded in."""
        with self._flow_lock:
            flow = self._flow.get(parent.parent_id)
            if flow is None or flow.volume == 0:
                return parent
            volume, notional = flow.volume, flow.notional
            flow.volume = flow.notional = ZERO
        merged = replace(
            parent,
            market_volume=parent.market_volume + volume,
            market_notional=parent.market_notional + notional,
        )
        self.put(merged)
        return merged

    def fresh(self, parent: ParentOrder, stored: ParentOrder | None) -> ParentOrder:
        """The parent as stored, when another process (a CLI cancel) changed it; the
        volume counted here since the last write is kept."""
        if stored is None or stored.version <= parent.version:
            return parent
        fresh = replace(
            stored,
            market_volume=max(stored.market_volume, parent.market_volume),
            market_notional=max(stored.market_notional, parent.market_notional),
        )
        self.put(fresh)
        return fresh
