"""Positions and P&L by average cost: long, short and flips, exact in Decimal.

Realized P&L is booked when a fill reduces a position: ``closed × (price − avg)``
times the position's sign. Commission is kept apart so that gross and net are both
exact; ``realized_pnl`` on a position is *net* of commission (seed 001, scenario 5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ordergate.domain.enums import Side
from ordergate.domain.money import ZERO


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

    def copy(self) -> Position:
        return Position(
            account_id=self.account_id,
            symbol=self.symbol,
            qty=self.qty,
            avg_price=self.avg_price,
            realized_gross=self.realized_gross,
            commission=self.commission,
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
        """Fold one fill into the position and return what it realized."""
        signed = qty if side is Side.BUY else -qty
        realized = ZERO
        if self.qty == 0 or (self.qty > 0) == (signed > 0):
            total = abs(self.qty) + qty
            self.avg_price = (abs(self.qty) * self.avg_price + qty * price) / total
            self.qty += signed
        else:
            closing = min(qty, abs(self.qty))
            direction = 1 if self.qty > 0 else -1
            realized = closing * (price - self.avg_price) * direction
            self.qty += signed
            if self.qty == 0:
                self.avg_price = ZERO
            elif (self.qty > 0) != (direction > 0):
                self.avg_price = price  # flipped: the remainder opened at this price
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
