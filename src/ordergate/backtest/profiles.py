"""VWAP's volume profile learned from a backtest's own data file.

A VWAP parent without a ``profile`` follows the volume the file prints in each of its
slices (bars' and marks' ``volume``, trades' ``size``); a slice with none weighs
nothing, and a window with no volume at all falls back to even slices.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from ordergate.domain.money import ZERO
from ordergate.sim.data import MarketEvent


def _volume(event: MarketEvent) -> Decimal | None:
    value = getattr(event, "volume", None)
    if value is None:
        value = getattr(event, "size", None)
    return value if isinstance(value, Decimal) else None


class EventProfiles:
    """The ``VolumeProfiles`` port over a run's events (``engine/algos.py``).

    The index (a time and a volume per event, ~64 bytes an event) is built when the
    first VWAP parent asks for a profile: a run without one holds nothing per event.
    """

    def __init__(self, events: Sequence[MarketEvent]) -> None:
        self._events: Sequence[MarketEvent] | None = events
        self._index: dict[str, tuple[list[datetime], list[Decimal]]] = {}

    @property
    def _by_symbol(self) -> dict[str, tuple[list[datetime], list[Decimal]]]:
        if self._events is not None:
            for event in self._events:
                volume = _volume(event)
                if volume is None:
                    continue
                times, volumes = self._index.setdefault(event.symbol.upper(), ([], []))
                times.append(event.ts)
                volumes.append(volume)
            self._events = None
        return self._index

    def profile(
        self, symbol: str, start: datetime, end: datetime, slices: int
    ) -> tuple[Decimal, ...]:
        """The volume printed in each of ``slices`` equal parts of ``[start, end)``."""
        times, volumes = self._by_symbol.get(symbol.upper(), ([], []))
        length = (end - start) / slices
        weights = [ZERO] * slices
        for i in range(bisect_left(times, start), len(times)):
            ts = times[i]
            if ts >= end:
                break
            weights[min(slices - 1, int((ts - start) / length))] += volumes[i]
        return tuple(weights) if sum(weights) > 0 else ()
