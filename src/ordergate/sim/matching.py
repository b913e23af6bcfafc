"""Where and how much one working order trades during one market event.

A :class:`FillModel` is three small choices: a slippage model (what a taker pays),
a participation limit (how much of the event's volume we may take) and a lot (the
quantity step fills are rounded down to). :func:`match` walks the event's price path
(:mod:`ordergate.sim.data`) and applies the order-type rules:

- **market**: fills at the first point, at the slippage model's taker price;
- **limit**: fills at a point where the taker price is at or better than the limit
  (at that price: "the limit or better"), or — inside a bar, where the price moves
  continuously between points — at the limit itself when the path trades *through*
  it (strictly beyond; a touch is not a fill). A limit the market never reaches
  never fills;
- **stop**: triggers where the path reaches the stop; a point that is already beyond
  it (the open gapping through, a single tick) triggers and fills *there*, not at the
  stop; a crossing between points triggers at the stop price. Once triggered it is a
  market order (STOP) or a limit order (STOP_LIMIT) for the rest of the path.

At most one fill per order per event: the participation cap is per event, and a
fill that is not capped takes the whole remainder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from ordergate.brokers.base import OrderRequest
from ordergate.domain.enums import OrderType, Side
from ordergate.sim.data import Tick
from ordergate.sim.fills import BidAsk, FixedBps, NoSlippage, SlippageModel, SquareRootImpact

DEFAULT_PARTICIPATION = Decimal("0.10")


@dataclass(frozen=True, slots=True, kw_only=True)
class FillModel:
    """How the venue fills: slippage, participation in volume, lot size.

    ``participation`` is the share of each event's volume we may take (0.10 = 10 %);
    ``None`` means no limit. Events without a volume are never limited. The rest of
    the order stays working and trades on later events.
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
    """The outcome of walking one path: a price (or none) and the trigger state after."""

    price: Decimal | None
    triggered: bool


def _beyond(side: Side, price: Decimal, level: Decimal) -> bool:
    """True when ``price`` is at or beyond ``level`` in the direction a stop of ``side`` fires."""
    return price >= level if side is Side.BUY else price <= level


def _through(side: Side, price: Decimal, limit: Decimal) -> bool:
    """True when ``price`` trades strictly through a limit of ``side``."""
    return price < limit if side is Side.BUY else price > limit


def _limit_ok(side: Side, price: Decimal, limit: Decimal) -> bool:
    return price <= limit if side is Side.BUY else price >= limit


def match(
    request: OrderRequest,
    triggered: bool,
    path: tuple[Tick, ...],
    slippage: SlippageModel,
    qty: Decimal,
    volume: Decimal | None,
) -> PathMatch:
    """Find the price at which ``qty`` of ``request`` trades on ``path``, if any."""
    side, kind, stop, limit = (
        request.side,
        request.order_type,
        request.stop_price,
        request.limit_price,
    )
    needs_trigger = kind in (OrderType.STOP, OrderType.STOP_LIMIT) and stop is not None
    previous: Tick | None = None
    for point in path:
        start, end = (point, None) if previous is None else (previous, point)
        previous = point
        if needs_trigger and not triggered:
            if stop is not None and _beyond(side, start.price, stop):
                triggered = True  # a gap through the stop: trades from here
            elif end is not None and stop is not None and _beyond(side, end.price, stop):
                triggered, start = True, Tick(stop)  # crossed on the way: at the stop
            else:
                continue
        taker = slippage.price(side, qty, start, volume)
        if limit is None or kind in (OrderType.MARKET, OrderType.STOP):
            return PathMatch(taker, triggered)
        if _limit_ok(side, taker, limit):
            return PathMatch(taker, triggered)
        if end is not None and _through(side, end.price, limit):
            return PathMatch(limit, triggered)
    return PathMatch(None, triggered)


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
