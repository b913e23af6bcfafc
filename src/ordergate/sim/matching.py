"""Where and how much one working order trades during one market event.

A :class:`FillModel` is three small choices: a slippage model (what a taker pays),
a participation limit (how much of the event's volume we may take) and a lot (the
quantity step fills are rounded down to). :func:`match` walks the event's price path
(:mod:`ordergate.sim.data`) and applies the order-type rules.

**Taker or maker.** An order is a *taker* at the first point it sees (the market when
it arrives at a paper venue; the first point after its arrival in a backtest): a
market order always, a limit when it is marketable there. A limit that is not
marketable there *rests* from that moment on, and every later fill of it is a
*maker* fill: labelled ``"M"``, charged the maker fee, at its own price, with no
slippage.

- **market**: fills at the first point, at the slippage model's taker price;
- **marketable limit** (taker): when the price a taker meets there — the far side of a
  quote, else the trade price — is at or better than the limit. A buy limit at the
  ask fills; so does a buy limit at a last trade of the same price. It pays the
  slippage model's price, capped at its limit;
- **resting limit** (maker): fills when the market reaches it *through* the book: a
  quote whose far side is at or through the limit (an ask at or under a buy limit),
  or a trade price strictly through it. An exact touch by a trade price (a bar's low
  equal to a buy limit, a print at the limit) is **not** a fill: the queue ahead of
  us is unknown. Where the path crosses the limit between two points it fills at the
  limit; where an event starts beyond it (a bar opening through it, a print or a quote
  beyond it) at that better price;
- **stop**: triggers where the path reaches the stop; a point that is already beyond
  it (the open gapping through, a single tick) triggers and fills *there*, not at the
  stop; a crossing between points triggers at the stop price. Once triggered it is a
  market order (STOP) or a limit order (STOP_LIMIT, a taker where its limit is
  marketable at the trigger, else resting) for the rest of the path.

At most one fill per order per event: the participation cap is per event, and a
fill that is not capped takes the whole remainder. Every fill says when its price was
there (:attr:`PathMatch.ts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from ordergate.domain.enums import OrderType, Side
from ordergate.domain.wire import OrderRequest
from ordergate.sim.data import Tick, crossing_time, reference
from ordergate.sim.fees import MAKER, TAKER
from ordergate.sim.fills import BidAsk, FixedBps, NoSlippage, SlippageModel, SquareRootImpact

DEFAULT_PARTICIPATION = Decimal("0.10")


@dataclass(frozen=True, slots=True, kw_only=True)
class FillModel:
    """How the venue fills: slippage, participation in volume, lot size.

    ``participation`` is the share of each event's volume we may take (0.10 = 10 %):
    a bar's or mark's volume, a print's size, a quote's displayed size on the side we
    take; ``None`` means no limit. An event that does not say its volume cannot be
    limited: a backtest refuses such data under a limit unless told to trade it
    uncapped (:class:`~ordergate.backtest.runner.BacktestConfig`). The rest of the
    order stays working and trades on later events.
    """

    slippage: SlippageModel = field(default_factory=FixedBps)
    participation: Decimal | None = None
    lot: Decimal = Decimal(1)

    def cap(self, volume: Decimal | None) -> Decimal | None:
        """The most we may trade in an event with ``volume``; ``None`` for no limit."""
        if self.participation is None or volume is None:
            return None
        return round_down(volume * self.participation, self.lot)


def round_down(qty: Decimal, lot: Decimal) -> Decimal:
    if lot <= 0:
        return qty
    return (qty / lot).to_integral_value(rounding=ROUND_FLOOR) * lot


@dataclass(frozen=True, slots=True)
class PathMatch:
    """The outcome of walking one path: a price (or none), its time and liquidity, and
    the order's trigger and resting state after."""

    price: Decimal | None
    triggered: bool
    resting: bool = False
    liquidity: str = TAKER
    ts: datetime | None = None


def _beyond(side: Side, price: Decimal, level: Decimal) -> bool:
    """True when ``price`` is at or beyond ``level`` in the direction a stop of ``side`` fires."""
    return price >= level if side is Side.BUY else price <= level


def _through(side: Side, price: Decimal, limit: Decimal) -> bool:
    """True when ``price`` trades strictly through a limit of ``side``."""
    return price < limit if side is Side.BUY else price > limit


def _limit_ok(side: Side, price: Decimal, limit: Decimal) -> bool:
    return price <= limit if side is Side.BUY else price >= limit


def _reached(side: Side, tick: Tick, limit: Decimal) -> bool:
    """A resting limit is taken at ``tick``: the far side of a quote at or through it,
    or a trade price strictly through it."""
    quote = tick.ask if side is Side.BUY else tick.bid
    return _limit_ok(side, quote, limit) if quote is not None else _through(side, tick.price, limit)


def _capped(side: Side, price: Decimal, limit: Decimal) -> Decimal:
    return min(price, limit) if side is Side.BUY else max(price, limit)


def match(
    request: OrderRequest,
    triggered: bool,
    path: tuple[Tick, ...],
    slippage: SlippageModel,
    qty: Decimal,
    volume: Decimal | None,
    *,
    resting: bool = False,
) -> PathMatch:
    """Find the price at which ``qty`` of ``request`` trades on ``path``, if any.

    ``resting``: the order (its limit) has already rested in the book; otherwise the
    first point it meets here is the one it arrives at (module docstring)."""
    side, kind, stop, limit = (
        request.side,
        request.order_type,
        request.stop_price,
        request.limit_price,
    )
    is_limit = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) and limit is not None
    needs_trigger = kind in (OrderType.STOP, OrderType.STOP_LIMIT) and stop is not None
    previous: Tick | None = None
    for point in path:
        at = point
        fresh = previous is None and not resting
        if needs_trigger and not triggered and stop is not None:
            if not _beyond(side, point.price, stop):
                previous = point
                continue
            triggered = fresh = True  # its limit, if any, is new from here
            if previous is not None:  # crossed between two points: at the stop
                at = Tick(stop, ts=crossing_time(previous, point, stop))
        if not is_limit or limit is None:
            return PathMatch(slippage.price(side, qty, at, volume), triggered, ts=at.ts)
        if fresh:
            if _limit_ok(side, reference(side, at), limit):
                price = _capped(side, slippage.price(side, qty, at, volume), limit)
                return PathMatch(price, triggered, ts=at.ts)
            resting = True
            if at is not point and _through(side, point.price, limit):  # on from the stop
                return PathMatch(limit, triggered, True, MAKER, crossing_time(at, point, limit))
        elif previous is None:
            if _reached(side, at, limit):  # the event starts beyond it: a gap
                return PathMatch(reference(side, at), triggered, True, MAKER, at.ts)
        elif _through(side, point.price, limit):
            when = crossing_time(previous, point, limit)
            return PathMatch(limit, triggered, True, MAKER, when)
        previous = point
    return PathMatch(None, triggered, resting)


def fill_model_from_name(
    name: str,
    *,
    bps: Decimal = Decimal(5),
    participation: Decimal | None = None,
    lot: Decimal = Decimal(1),
) -> FillModel:
    """``fixed_bps`` | ``bid_ask`` | ``participation`` | ``sqrt_impact`` | ``none``.

    ``participation`` is the fixed-bps model with a 10 % participation limit by
    default; ``sqrt_impact`` also limits participation to 10 % unless told otherwise.
    """
    key = name.lower().replace("-", "_")
    if key == "fixed_bps":
        return FillModel(slippage=FixedBps(bps), participation=participation, lot=lot)
    if key == "bid_ask":
        return FillModel(slippage=BidAsk(FixedBps(bps)), participation=participation, lot=lot)
    if key == "participation":
        rate = participation if participation is not None else DEFAULT_PARTICIPATION
        return FillModel(slippage=FixedBps(bps), participation=rate, lot=lot)
    if key == "sqrt_impact":
        rate = participation if participation is not None else DEFAULT_PARTICIPATION
        return FillModel(slippage=SquareRootImpact(), participation=rate, lot=lot)
    if key in ("none", "zero"):
        return FillModel(slippage=NoSlippage(), participation=participation, lot=lot)
    raise ValueError(
        f"unknown fill model {name!r}: use fixed_bps, bid_ask, participation, sqrt_impact or none"
    )
