"""Market data a simulated venue trades against: marks, quotes, trades and OHLC bars.

Every event is reduced to a *price path*: the points, in time order, at which an order
could have traded. A mark, a quote or a trade is one point. A bar is four, and which
way the bar went between its open and close is not in the data, so we pick a path by
the bar's direction (the usual convention, and the one nautilus_trader uses):

- an up bar (close >= open) went ``O → L → H → C``: it dipped first, then rallied;
- a down bar (close < open) went ``O → H → L → C``.

Between two points the price moves continuously (a stop or a limit inside that range
is crossed at its own price); the open is a *gap* from whatever came before, so a stop
that the open jumps over fills at the open, not at the stop.

A bar is timestamped when it closes (``ts``): that is when its prices are known. Its
``start`` is when it opened; when the data does not say, :func:`with_bar_starts`
infers the bar's span from the series (the most common gap between a symbol's bars;
a daily bar keeps to its own date) and the venue falls back to the time of the
symbol's previous event. The four points
are spread evenly in time over ``[start, ts]`` (open at ``start``, close at ``ts``) and
the price moves linearly between them, so every point of the path has a time: an
order that reached the venue by ``start`` may trade anywhere on the path; one that
arrived during the bar trades on the path *from its arrival on* (:func:`path_from`),
starting at the price the path had then; a fill is stamped with the time of the
point (or crossing) whose price it used.

On a quote the price a taker gets is the far side (ask for a buy, bid for a sell),
which :func:`reference` gives; a trade print or a bar has only its trade price.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from ordergate.domain.enums import Side
from ordergate.domain.errors import InvalidIntent
from ordergate.domain.market import Mark
from ordergate.domain.money import fmt

TWO = Decimal(2)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    """One OHLC bar of ``symbol``, known at ``ts`` (its close)."""

    symbol: str
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal | None = None
    start: datetime | None = None

    def __post_init__(self) -> None:
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            raise InvalidIntent(
                "bar",
                f"{self.symbol} at {self.ts.isoformat()}: open {fmt(self.open)} and close "
                f"{fmt(self.close)} must lie within low {fmt(self.low)} and high {fmt(self.high)}",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """Top of book. Its reference price is the mid; sizes cap what can trade."""

    symbol: str
    ts: datetime
    bid: Decimal
    ask: Decimal
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None

    def __post_init__(self) -> None:
        if self.bid > self.ask:
            raise InvalidIntent("bid", f"bid {fmt(self.bid)} is above ask {fmt(self.ask)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade:
    """One print on the tape."""

    symbol: str
    ts: datetime
    price: Decimal
    size: Decimal | None = None


MarketEvent = Mark | Bar | Quote | Trade


@dataclass(frozen=True, slots=True)
class Tick:
    """One point of a price path: a trade price and, when known, the quote around it,
    and the time the price was there (``None`` only for points built by hand)."""

    price: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    ts: datetime | None = None


def reference(side: Side, tick: Tick) -> Decimal:
    """The price a taker of ``side`` meets at ``tick``: the far side of a quote, else the
    trade price."""
    quote = tick.ask if side is Side.BUY else tick.bid
    return tick.price if quote is None else quote


def price_path(event: MarketEvent, start: datetime | None = None) -> tuple[Tick, ...]:
    """The points an order may trade at during ``event``, in time order.

    A bar's points are spread evenly over ``[start, ts]`` (``start`` defaults to the
    bar's own, else its ``ts``)."""
    if isinstance(event, Bar):
        o, h, lo, c = event.open, event.high, event.low, event.close
        first, second = (lo, h) if c >= o else (h, lo)
        end = event.ts
        begin = start or event.start or end
        third = (end - begin) / 3
        return (
            Tick(o, ts=begin),
            Tick(first, ts=begin + third),
            Tick(second, ts=end - third),
            Tick(c, ts=end),
        )
    return (last_tick(event),)


def path_from(path: tuple[Tick, ...], arrival: datetime) -> tuple[Tick, ...]:
    """What is left of ``path`` for an order that arrived at ``arrival``: the price the
    path had at that moment (linear between points, rounded half-even to the path's
    precision), then the points after it. The whole path when it arrived by the first
    point, the last point alone when it arrived at or after it."""
    first = path[0]
    if first.ts is None or arrival <= first.ts:
        return path
    for i in range(1, len(path)):
        end = path[i]
        if end.ts is None or arrival >= end.ts:
            continue
        begin = path[i - 1]
        if begin.ts is None or arrival <= begin.ts:
            return path[i - 1 :]
        share = Decimal((arrival - begin.ts) // _US) / Decimal((end.ts - begin.ts) // _US)
        price = begin.price + (end.price - begin.price) * share
        quantum = min((t.price for t in path), key=_exponent)
        here = Tick(price.quantize(_unit(quantum), rounding=ROUND_HALF_EVEN), ts=arrival)
        return (here, *path[i:])
    return path[-1:]


def crossing_time(begin: Tick, end: Tick, level: Decimal) -> datetime | None:
    """When the straight move from ``begin`` to ``end`` passes ``level`` (to the µs)."""
    if begin.ts is None or end.ts is None or end.price == begin.price:
        return end.ts
    share = (level - begin.price) / (end.price - begin.price)
    micros = int(Decimal((end.ts - begin.ts) // _US) * share)
    return begin.ts + timedelta(microseconds=micros)


_US = timedelta(microseconds=1)
_DAY = timedelta(days=1)


def _exponent(price: Decimal) -> int:
    exponent = price.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def _unit(price: Decimal) -> Decimal:
    return Decimal(1).scaleb(min(0, _exponent(price)))


def last_tick(event: MarketEvent) -> Tick:
    """The market as it stands once ``event`` is over."""
    if isinstance(event, Mark):
        return Tick(event.last, event.bid, event.ask, event.ts)
    if isinstance(event, Quote):
        return Tick((event.bid + event.ask) / TWO, event.bid, event.ask, event.ts)
    if isinstance(event, Trade):
        return Tick(event.price, ts=event.ts)
    return Tick(event.close, ts=event.ts)


def last_price(event: MarketEvent) -> Decimal:
    return last_tick(event).price


def event_volume(event: MarketEvent, side: Side) -> Decimal | None:
    """What traded (or is displayed) during ``event`` that an order of ``side`` may take.

    ``None`` means unknown (see :func:`missing_volume`).
    """
    if isinstance(event, Bar):
        return event.volume
    if isinstance(event, Mark):
        return event.volume
    if isinstance(event, Trade):
        return event.size
    return event.ask_size if side is Side.BUY else event.bid_size


def missing_volume(event: MarketEvent) -> bool:
    """True when ``event`` does not say how much traded or is displayed (for either side):
    a participation limit cannot apply to it."""
    if isinstance(event, Quote):
        return event.ask_size is None or event.bid_size is None
    if isinstance(event, Trade):
        return event.size is None
    return event.volume is None


def bar_span(events: Sequence[MarketEvent]) -> dict[str, timedelta]:
    """Each symbol's bar span: the most common gap between its consecutive bars (the
    shortest of the most common, on a tie)."""
    last: dict[str, datetime] = {}
    gaps: dict[str, Counter[timedelta]] = {}
    for event in events:
        if not isinstance(event, Bar):
            continue
        previous = last.get(event.symbol)
        if previous is not None and event.ts > previous:
            gaps.setdefault(event.symbol, Counter())[event.ts - previous] += 1
        last[event.symbol] = event.ts
    spans = {}
    for symbol, counter in gaps.items():
        top = max(counter.values())
        spans[symbol] = min(gap for gap, count in counter.items() if count == top)
    return spans


def with_bar_starts(events: Sequence[MarketEvent]) -> list[MarketEvent]:
    """``events`` with a ``start`` on every bar that has none: ``ts`` minus the symbol's
    :func:`bar_span`, but never before the symbol's previous bar closed; a symbol's
    first bar starts one span before it. A bar of a day or more is that day's trading:
    it starts no earlier than midnight of its own date (in its own UTC offset), so a
    fill at its open carries its date — a bar stamped at the close opens at midnight,
    one stamped with the date alone (00:00) is a single moment. Other events are
    returned as they are."""
    spans = bar_span(events)
    last: dict[str, datetime] = {}
    out: list[MarketEvent] = []
    for event in events:
        if not isinstance(event, Bar):
            out.append(event)
            continue
        bar = event
        if bar.start is None:
            span = spans.get(bar.symbol)
            previous = last.get(bar.symbol)
            start = bar.ts if span is None else bar.ts - span
            if previous is not None and previous > start:
                start = previous
            if span is not None and span >= _DAY:
                start = max(start, bar.ts.replace(hour=0, minute=0, second=0, microsecond=0))
            bar = replace(bar, start=start)
        last[bar.symbol] = bar.ts
        out.append(bar)
    return out
