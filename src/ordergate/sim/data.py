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
``start`` is when it opened; when the data does not say, the venue takes the time of
the previous event of the symbol. An order that reached the venue by ``start`` may
trade anywhere on the path; one that arrived during the bar may only trade at the
close (the only price we know happened after it arrived).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

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
    """One point of a price path: a trade price and, when known, the quote around it."""

    price: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None


def price_path(event: MarketEvent) -> tuple[Tick, ...]:
    """The points an order may trade at during ``event``, in time order."""
    if isinstance(event, Bar):
        o, h, lo, c = event.open, event.high, event.low, event.close
        middle = (lo, h) if c >= o else (h, lo)
        return (Tick(o), Tick(middle[0]), Tick(middle[1]), Tick(c))
    return (last_tick(event),)


def last_tick(event: MarketEvent) -> Tick:
    """The market as it stands once ``event`` is over."""
    if isinstance(event, Mark):
        return Tick(event.last, event.bid, event.ask)
    if isinstance(event, Quote):
        return Tick((event.bid + event.ask) / TWO, event.bid, event.ask)
    if isinstance(event, Trade):
        return Tick(event.price)
    return Tick(event.close)


def last_price(event: MarketEvent) -> Decimal:
    return last_tick(event).price


def event_volume(event: MarketEvent, side: Side) -> Decimal | None:
    """What traded (or is displayed) during ``event`` that an order of ``side`` may take.

    ``None`` means unknown: the participation limit does not apply.
    """
    if isinstance(event, Bar):
        return event.volume
    if isinstance(event, Mark):
        return event.volume
    if isinstance(event, Trade):
        return event.size
    return event.ask_size if side is Side.BUY else event.bid_size
