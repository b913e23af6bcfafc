"""Positions and P&L by average cost: long, short and flips, in Decimal.

Realized P&L is booked when a fill reduces a position: ``closed × (price − avg)``
times the position's sign. Commission is kept apart so that gross and net are both
known; ``realized_pnl`` on a position is *net* of commission (seed 001, scenario 5).

**The rounding rule** (as a broker statement books it): realized P&L, fees and cash are
booked *per fill*, rounded to the currency's minor unit, half-even (:func:`book`).
Average cost and unrealized P&L stay exact inside — rounding them would drift with
every fill — and are rounded only where a person reads them: :func:`shown_money`
(the minor unit) and :func:`shown_price` (:data:`PRICE_PLACES_SHOWN` places).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from ordergate.domain.enums import Side
from ordergate.domain.frozen import fast_init
from ordergate.domain.money import ZERO, fmt

#: Decimal places of each currency's minor unit (ISO 4217); any other currency: 2.
MINOR_UNIT_PLACES = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}
#: Average cost and other prices ordergate derives are shown to this many places.
PRICE_PLACES_SHOWN = 4


def minor_unit(currency: str = "USD") -> Decimal:
    """The currency's smallest booked amount: ``0.01`` for USD, ``1`` for JPY."""
    unit = _units.get(currency)  # every fill asks: the unit is made once per currency
    if unit is None:
        unit = Decimal(1).scaleb(-MINOR_UNIT_PLACES.get(currency.upper(), 2))
        if len(_units) >= 256:
            _units.clear()
        _units[currency] = unit
    return unit


_units: dict[str, Decimal] = {}


def book(amount: Decimal, currency: str = "USD") -> Decimal:
    """``amount`` as a statement books it: the minor unit, half-even (``0.645`` → ``0.64``)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_EVEN)


def shown_money(amount: Decimal | None, currency: str = "USD") -> str | None:
    """Money for a person to read (P&L, fees, exposure): booked to the minor unit."""
    return None if amount is None else fmt(book(amount, currency))


def shown_price(price: Decimal | None, places: int = PRICE_PLACES_SHOWN) -> str | None:
    """A price for a person to read: at most ``places`` places, half-even, no trailing zeros."""
    if price is None:
        return None
    return fmt(price.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


@fast_init
@dataclass(frozen=True, slots=True)
class FillEffect:
    """What one fill did to a position."""

    realized_gross: Decimal
    commission: Decimal

    @property
    def realized_net(self) -> Decimal:
        return self.realized_gross - self.commission


@dataclass(slots=True, kw_only=True)
class Position:
    account_id: str = "default"
    symbol: str
    qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    realized_gross: Decimal = ZERO
    commission: Decimal = ZERO
    #: The currency amounts are booked in (its minor unit rounds each fill's figures).
    currency: str = "USD"

    def copy(self) -> Position:
        return Position(
            account_id=self.account_id,
            symbol=self.symbol,
            qty=self.qty,
            avg_price=self.avg_price,
            realized_gross=self.realized_gross,
            commission=self.commission,
            currency=self.currency,
        )

    @property
    def realized_pnl(self) -> Decimal:
        """Realized P&L net of every commission paid on this symbol."""
        return self.realized_gross - self.commission

    @property
    def is_flat(self) -> bool:
        return self.qty == 0

    def unrealized_pnl(self, mark: Decimal | None) -> Decimal:
        if mark is None or self.qty == 0:
            return ZERO
        return self.qty * (mark - self.avg_price)

    def market_value(self, mark: Decimal | None) -> Decimal:
        return ZERO if mark is None else self.qty * mark

    def apply_fill(
        self, side: Side, qty: Decimal, price: Decimal, commission: Decimal
    ) -> FillEffect:
        """Fold one fill into the position and return what it realized.

        The realized P&L and the commission are booked to the minor unit (half-even);
        the average cost stays exact.
        """
        signed = qty if side is Side.BUY else -qty
        realized = ZERO
        if self.qty == 0 or (self.qty > 0) == (signed > 0):
            total = abs(self.qty) + qty
            self.avg_price = (abs(self.qty) * self.avg_price + qty * price) / total
            self.qty += signed
        else:
            closing = min(qty, abs(self.qty))
            direction = 1 if self.qty > 0 else -1
            realized = (closing * (price - self.avg_price) * direction).quantize(
                minor_unit(self.currency), rounding=ROUND_HALF_EVEN
            )  # booked (``book``), in line
            self.qty += signed
            if self.qty == 0:
                self.avg_price = ZERO
            elif (self.qty > 0) != (direction > 0):
                self.avg_price = price  # flipped: the remainder opened at this price
        commission = commission.quantize(minor_unit(self.currency), rounding=ROUND_HALF_EVEN)
        self.realized_gross += realized
        self.commission += commission
        return FillEffect(realized_gross=realized, commission=commission)

    @classmethod
    def replay(
        cls,
        symbol: str,
        fills: Iterable[tuple[Side, Decimal, Decimal, Decimal]],
        account_id: str = "default",
    ) -> Position:
        """Rebuild a position from (side, qty, price, commission) fills, in order."""
        position = cls(account_id=account_id, symbol=symbol)
        for side, qty, price, commission in fills:
            position.apply_fill(side, qty, price, commission)
        return position


@dataclass(frozen=True, slots=True, kw_only=True)
class PnlSummary:
    """P&L at a moment: realized (net of commission), unrealized at the marks, by day."""

    realized_pnl: Decimal
    realized_gross: Decimal
    commission: Decimal
    unrealized_pnl: Decimal
    daily: dict[str, Decimal]

    @property
    def total_pnl(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl
