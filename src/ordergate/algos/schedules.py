"""Each algorithm's schedule: how much of the parent should have been sent by ``now``.

Pure functions of the parent's terms, its quantity, when it was accepted, the clock and
the volume printed since its start; no I/O. A :class:`Slot` is the answer: the target
(cumulative, in the parent's lot), the part of it the current slice adds, and when that
slice ends (a child lives as long as its slice).

- **TWAP**: ``n`` slices of equal length; after slice ``i`` the target is
  ``qty * (i + 1) / n``, rounded down to the lot (the last slice takes the rest).
- **VWAP**: the same slices, each weighted by the volume ``profile`` (given, or learned
  from the data file in a backtest): after slice ``i`` the target is
  ``qty * (w0 + … + wi) / sum(w)``.
- **POV**: ``participation * volume printed since the start``, re-aimed every
  ``interval_s``; never more than the parent's quantity.
- **Iceberg**: the display quantity above what has filled; a child lives until it fills.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from ordergate.domain.algo_terms import DEFAULT_POV_INTERVAL_S, AlgoKind, AlgoTerms, Urgency
from ordergate.domain.money import ZERO

#: How long an iceberg waits after a refused child before it shows again, in seconds.
ICEBERG_RETRY_S = 5.0


@dataclass(frozen=True, slots=True)
class Slot:
    """Where the schedule stands at one moment."""

    #: cumulative quantity that should have been sent (filled or working) by now
    target: Decimal
    #: what the schedule meant to have sent before the current slice
    before: Decimal
    #: the current slice's number in the schedule (0-based; -1 before the start)
    index: int
    #: slices the schedule has left, the current one included (None: open-ended)
    remaining: int | None
    #: when the current slice ends (None: a child lives until it fills)
    ends_at: datetime | None
    #: the schedule is over (TWAP and VWAP after their end, POV after ``end_at``)
    over: bool = False


def lot_of(qty: Decimal) -> Decimal:
    """The increment children are cut in: the parent quantity's own precision
    (``1000`` → 1, ``2.50`` → 0.01)."""
    exponent = qty.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return Decimal(1).scaleb(-places)


def floor_to(value: Decimal, lot: Decimal) -> Decimal:
    return (value / lot).to_integral_value(rounding=ROUND_DOWN) * lot


def weights(terms: AlgoTerms, count: int, learned: tuple[Decimal, ...] = ()) -> tuple[Decimal, ...]:
    """The slice weights: VWAP's profile (given, else ``learned``), else equal."""
    if terms.kind is AlgoKind.VWAP:
        profile = terms.profile or learned
        if len(profile) == count and sum(profile) > 0:
            return profile
    return (Decimal(1),) * count


def slot(
    terms: AlgoTerms,
    qty: Decimal,
    accepted_at: datetime,
    now: datetime,
    *,
    volume: Decimal = ZERO,
    filled: Decimal = ZERO,
    learned: tuple[Decimal, ...] = (),
) -> Slot:
    """The schedule of ``terms`` at ``now`` (see the module for each algorithm)."""
    lot = lot_of(qty)
    start, end = terms.window(accepted_at)
    kind = terms.kind
    if kind is AlgoKind.ICEBERG:
        display = terms.display_qty or qty
        target = min(qty, filled + display)
        return Slot(target, filled, 0, None, None)
    if kind is AlgoKind.POV:
        interval = timedelta(seconds=terms.interval_s or DEFAULT_POV_INTERVAL_S)
        over = end is not None and now >= end
        rate = terms.participation or ZERO
        target = min(qty, floor_to(rate * volume, lot))
        if now < start:
            return Slot(ZERO, ZERO, -1, None, start)
        index = int((now - start) / interval)
        ends = start + interval * (index + 1)
        if end is not None:
            ends = min(ends, end)
        return Slot(target, filled, index, None, ends, over)
    return _sliced(terms, qty, lot, start, end, now, learned)


def _sliced(
    terms: AlgoTerms,
    qty: Decimal,
    lot: Decimal,
    start: datetime,
    end: datetime | None,
    now: datetime,
    learned: tuple[Decimal, ...],
) -> Slot:
    """TWAP and VWAP: a fixed number of slices over a fixed window."""
    if end is None:  # the terms refuse this; an open window has no slices
        return Slot(qty, ZERO, 0, 1, None)
    count = terms.slice_count(start) or 1
    length = (end - start) / count
    if now < start:
        return Slot(ZERO, ZERO, -1, count, start)
    if now >= end:
        return Slot(qty, qty, count, 0, None, over=True)
    index = min(count - 1, int((now - start) / length))
    aim = index + 1 if terms.urgency is Urgency.HIGH else index
    w = weights(terms, count, learned)
    total = sum(w)

    def cumulative(upto: int) -> Decimal:
        if upto >= count - 1:
            return qty
        if upto < 0:
            return ZERO
        return floor_to(qty * sum(w[: upto + 1]) / total, lot)

    ends = start + length * (index + 1) if index < count - 1 else end
    return Slot(cumulative(aim), cumulative(aim - 1), index, count - index, ends)


def scheduled(
    terms: AlgoTerms,
    qty: Decimal,
    accepted_at: datetime,
    now: datetime,
    *,
    volume: Decimal = ZERO,
    learned: tuple[Decimal, ...] = (),
) -> Decimal:
    """What the schedule alone says should have filled by ``now`` (for the deviation):
    TWAP and VWAP without urgency's lead, POV its share of the volume; an iceberg has
    no schedule (its figure is the whole quantity)."""
    if terms.kind is AlgoKind.ICEBERG:
        return qty
    plain = terms if terms.urgency is Urgency.NORMAL else replace(terms, urgency=Urgency.NORMAL)
    return slot(plain, qty, accepted_at, now, volume=volume, learned=learned).target
