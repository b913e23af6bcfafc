"""Tick and lot from the broker, where the ``instruments`` limits name no symbol.

A broker that knows its instruments (IB's contract details: ``minTick`` and the size
increment) implements :class:`InstrumentSizes`. The desk's limits then take a symbol's
tick and lot from it when no ``risk: limits: instruments:`` entry describes the symbol
and the default spec leaves them unset; a configured value always wins. Answers are
kept (an instrument's increments do not change intraday); a symbol the broker could not
answer for (disconnected) is asked again only after :data:`RETRY_S`, so that a gate
never waits on a broker that is down for every order.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Protocol, runtime_checkable

from ordergate.risk.limits import InstrumentLimits, InstrumentSpec

#: How long a symbol the broker could not answer for waits before it is asked again.
RETRY_S = 30.0


@runtime_checkable
class InstrumentSizes(Protocol):
    """A broker's own increments for ``symbol``; None where it cannot say now."""

    def tick_size(self, symbol: str) -> Decimal | None: ...
    def lot_size(self, symbol: str) -> Decimal | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerFilledLimits(InstrumentLimits):
    """:class:`InstrumentLimits` whose unlisted symbols take tick and lot from ``source``."""

    source: InstrumentSizes
    _known: dict[str, InstrumentSpec] = field(default_factory=dict, compare=False)
    _missed: dict[str, float] = field(default_factory=dict, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False)

    def spec(self, symbol: str) -> InstrumentSpec:
        listed = self.instruments.get(symbol)
        if listed is not None:
            return listed
        base = self.default
        if base.tick_size is not None and base.lot_size is not None:
            return base
        with self._lock:
            known = self._known.get(symbol)
            missed = self._missed.get(symbol)
        if known is not None:
            return known
        if missed is not None and time.monotonic() - missed < RETRY_S:
            return base
        tick = base.tick_size or self.source.tick_size(symbol)
        lot = base.lot_size or self.source.lot_size(symbol)
        spec = replace(base, tick_size=tick, lot_size=lot)
        with self._lock:
            if tick is None or lot is None:
                self._missed[symbol] = time.monotonic()
            else:
                self._known[symbol] = spec
        return spec


def with_broker_sizes(limits: InstrumentLimits, source: InstrumentSizes) -> InstrumentLimits:
    return BrokerFilledLimits(
        tradable=limits.tradable,
        default=limits.default,
        instruments=limits.instruments,
        source=source,
    )
