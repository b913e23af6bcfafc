"""Price models: what a marketable (taker) order pays at one point of the market.

Each model answers ``price(side, qty, tick)``; the venue asks it for every taker fill,
with the fill's own quantity (impact grows with size). No model fills a taker inside
the spread: where the market has a quote, the price a taker meets is its far side
(:func:`~ordergate.sim.data.reference`: the ask for a buy, the bid for a sell, never
the mid), and what the model adds comes on top of that or of the trade price.

- ``FixedBps`` (seed 000's ``fixed_bps``, seed 003's default 5 bps): the trade price
  ± ``bps``, but never better than the far side of the quote. A market buy at a last
  of 100.00 pays 100.05; against a quote of 99.90 / 100.10 it pays the ask, 100.10
  (the mid plus 5 bps, 100.05, would be inside the spread); against 99.99 / 100.01
  it pays 100.05, beyond the ask.
- ``BidAsk`` (seed 003's ``use_bid_ask_spread``): a buy pays the ask, a sell gets the
  bid; without a quote (bars, prints) it falls back to ``FixedBps``.
- ``SquareRootImpact``: the square-root law of market impact,
  ``impact = coefficient × sigma × sqrt(qty / volume)`` as a fraction of price, on top
  of a fixed half-spread ``spread_bps`` when there is no quote (a quote's far side
  already pays the spread). ``sigma`` is the daily volatility (0.02 = 2 %),
  ``coefficient`` the market's constant (≈ 1 in Almgren et al. 2005 and Tóth et al.
  2011; 0.5-1 is typical), ``volume`` the daily volume ``adv`` when given, else the
  volume of the event the fill happens in. A buy of 1,000 against 100,000 with
  sigma 2 % pays 20 bps over the reference price. Prices are rounded against us to
  ``quantum`` because a square root has no finite Decimal expansion.
- ``NoSlippage``: the reference itself, for tests and idealised runs.

``market_price(side, mark)`` is the older one-point interface (the paper broker's
``price_model``); every model here has both, and :class:`MarkPriceModel` lifts any
object with only ``market_price`` into the new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol, runtime_checkable

from ordergate.domain.enums import OrderType, Side
from ordergate.domain.market import Mark
from ordergate.domain.money import BPS, ZERO
from ordergate.sim.data import Tick, reference

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PriceModel(Protocol):
    def market_price(self, side: Side, mark: Mark) -> Decimal:
        """The price a marketable order of ``side`` takes at ``mark``."""
        ...


@runtime_checkable
class SlippageModel(Protocol):
    def price(self, side: Side, qty: Decimal, tick: Tick, volume: Decimal | None) -> Decimal:
        """The price a taker order of ``qty`` pays at ``tick`` (``volume``: of the event)."""
        ...


def _mark_of(tick: Tick) -> Mark:
    return Mark(symbol="X", last=tick.price, bid=tick.bid, ask=tick.ask, ts=_EPOCH)


def _tick_of(mark: Mark) -> Tick:
    return Tick(mark.last, mark.bid, mark.ask, mark.ts)


@dataclass(frozen=True, slots=True)
class NoSlippage:
    def price(self, side: Side, qty: Decimal, tick: Tick, volume: Decimal | None) -> Decimal:
        return reference(side, tick)

    def market_price(self, side: Side, mark: Mark) -> Decimal:
        return reference(side, _tick_of(mark))


@dataclass(frozen=True, slots=True)
class FixedBps:
    bps: Decimal = Decimal(5)

    def price(self, side: Side, qty: Decimal, tick: Tick, volume: Decimal | None) -> Decimal:
        far = reference(side, tick)
        if side is Side.BUY:
            return max(far, tick.price * (BPS + self.bps) / BPS)
        return min(far, tick.price * (BPS - self.bps) / BPS)

    def market_price(self, side: Side, mark: Mark) -> Decimal:
        return self.price(side, ZERO, _tick_of(mark), mark.volume)


@dataclass(frozen=True, slots=True)
class BidAsk:
    fallback: FixedBps = FixedBps()

    def price(self, side: Side, qty: Decimal, tick: Tick, volume: Decimal | None) -> Decimal:
        quote = tick.ask if side is Side.BUY else tick.bid
        return quote if quote is not None else self.fallback.price(side, qty, tick, volume)

    def market_price(self, side: Side, mark: Mark) -> Decimal:
        quote = mark.ask if side is Side.BUY else mark.bid
        return quote if quote is not None else self.fallback.market_price(side, mark)


@dataclass(frozen=True, slots=True, kw_only=True)
class SquareRootImpact:
    sigma: Decimal = Decimal("0.02")
    coefficient: Decimal = Decimal(1)
    adv: Decimal | None = None
    spread_bps: Decimal = ZERO
    quantum: Decimal = Decimal("0.000001")

    def impact(self, qty: Decimal, volume: Decimal | None) -> Decimal:
        """The impact of ``qty`` as a fraction of price (0.002 = 20 bps)."""
        base = self.adv if self.adv is not None else volume
        if base is None or base <= 0:
            return ZERO
        return self.coefficient * self.sigma * (qty / base).sqrt()

    def price(self, side: Side, qty: Decimal, tick: Tick, volume: Decimal | None) -> Decimal:
        quoted = (tick.ask if side is Side.BUY else tick.bid) is not None
        cost = (ZERO if quoted else self.spread_bps / BPS) + self.impact(qty, volume)
        base = reference(side, tick)
        if side is Side.BUY:
            return (base * (1 + cost)).quantize(self.quantum, rounding=ROUND_CEILING)
        return (base * (1 - cost)).quantize(self.quantum, rounding=ROUND_FLOOR)

    def market_price(self, side: Side, mark: Mark) -> Decimal:
        return self.price(side, ZERO, _tick_of(mark), mark.volume)


@dataclass(frozen=True, slots=True)
class MarkPriceModel:
    """An older ``PriceModel`` (``market_price`` only) used as a slippage model."""

    model: PriceModel

    def price(self, side: Side, qty: Decimal, tick: Tick, volume: Decimal | None) -> Decimal:
        return self.model.market_price(side, _mark_of(tick))


def as_slippage(model: PriceModel | SlippageModel) -> SlippageModel:
    return model if isinstance(model, SlippageModel) else MarkPriceModel(model)


def stop_triggered(side: Side, stop_price: Decimal, mark: Mark) -> bool:
    """A buy stop triggers when the market trades at or above it; a sell stop at or below."""
    return mark.last >= stop_price if side is Side.BUY else mark.last <= stop_price


def marketable_price(
    side: Side, order_type: OrderType, limit_price: Decimal | None, market: Decimal
) -> Decimal | None:
    """The fill price of an order that can trade against ``market`` now, else ``None``.

    A limit fills at its limit or better: a buy at ``min(limit, market)`` when the
    market is at or under the limit.
    """
    if order_type in (OrderType.MARKET, OrderType.STOP) or limit_price is None:
        return market
    if side is Side.BUY:
        return min(limit_price, market) if market <= limit_price else None
    return max(limit_price, market) if market >= limit_price else None


def price_model_from_name(name: str, bps: Decimal, use_bid_ask_spread: bool = False) -> PriceModel:
    """``fixed_bps``, ``bid_ask``, ``sqrt_impact`` or ``none``; ``use_bid_ask_spread`` turns
    ``fixed_bps`` into ``bid_ask``."""
    key = name.lower()
    if key == "bid_ask" or use_bid_ask_spread:
        return BidAsk(FixedBps(bps))
    if key == "fixed_bps":
        return FixedBps(bps)
    if key == "sqrt_impact":
        return SquareRootImpact(spread_bps=bps)
    if key in ("none", "zero"):
        return NoSlippage()
    raise ValueError(
        f"unknown slippage model {name!r}: use fixed_bps, bid_ask, sqrt_impact or none"
    )
