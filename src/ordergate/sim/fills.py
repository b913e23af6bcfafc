"""Price models for marketable orders: where a market order fills against a mark.

``FixedBps`` (seed 000's ``fixed_bps``, seed 003's default 5 bps): last ± slippage.
``BidAsk`` (seed 003's ``use_bid_ask_spread``): buy at the ask, sell at the bid, with
the fixed model as the fallback when the quote is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from ordergate.domain.enums import OrderType, Side
from ordergate.domain.market import Mark
from ordergate.domain.money import BPS


class PriceModel(Protocol):
    def market_price(self, side: Side, mark: Mark) -> Decimal:
        """The price a marketable order of ``side`` takes at ``mark``."""
        ...


@dataclass(frozen=True, slots=True)
class FixedBps:
    bps: Decimal = Decimal(5)

    def market_price(self, side: Side, mark: Mark) -> Decimal:
        return mark.last * (BPS + self.bps * side.sign) / BPS


@dataclass(frozen=True, slots=True)
class BidAsk:
    fallback: FixedBps = FixedBps()

    def market_price(self, side: Side, mark: Mark) -> Decimal:
        quote = mark.ask if side is Side.BUY else mark.bid
        return quote if quote is not None else self.fallback.market_price(side, mark)


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
    """``fixed_bps`` or ``bid_ask``; ``use_bid_ask_spread`` turns the first into the second."""
    key = name.lower()
    if key == "bid_ask" or use_bid_ask_spread:
        return BidAsk(FixedBps(bps))
    if key == "fixed_bps":
        return FixedBps(bps)
    raise ValueError(f"unknown slippage model {name!r}: use fixed_bps or bid_ask")
