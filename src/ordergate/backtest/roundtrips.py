"""Round trips: a position from flat back to flat, per symbol, from the fills.

A round trip opens with the fill that takes a symbol's position off zero and closes
with the one that brings it back. A fill that reverses the position (long 100, sell
150) closes one trip and opens the next with the rest, its commission split by
quantity. A trip's P&L is its cash flow (what the sells brought in less what the buys
cost) less its fees: exact, in Decimal, and independent of how the engine averages
prices. Trips still open at the end are not in the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.domain.money import ZERO, fmt


@dataclass(slots=True)
class RoundTrip:
    symbol: str
    direction: str
    opened: str
    closed: str = ""
    qty: Decimal = ZERO
    bought: Decimal = ZERO
    bought_value: Decimal = ZERO
    sold: Decimal = ZERO
    sold_value: Decimal = ZERO
    fees: Decimal = ZERO
    fills: int = 0
    position: Decimal = ZERO

    @property
    def pnl(self) -> Decimal:
        return self.sold_value - self.bought_value - self.fees

    def to_dict(self) -> dict[str, Any]:
        long = self.direction == "LONG"
        entry_qty, entry_value = (
            (self.bought, self.bought_value) if long else (self.sold, self.sold_value)
        )
        exit_qty, exit_value = (
            (self.sold, self.sold_value) if long else (self.bought, self.bought_value)
        )
        return {
            "symbol": self.symbol,
            "direction": self.direction,
            "opened": self.opened,
            "closed": self.closed,
            "qty": fmt(self.qty),
            "entry_avg": fmt(entry_value / entry_qty) if entry_qty else None,
            "exit_avg": fmt(exit_value / exit_qty) if exit_qty else None,
            "gross_pnl": fmt(self.sold_value - self.bought_value),
            "fees": fmt(self.fees),
            "pnl": fmt(self.pnl),
            "fills": self.fills,
        }


@dataclass(slots=True)
class RoundTrips:
    """The trips of a run. A closed trip goes to ``sink`` when there is one (a long run
    spools them to a file: :mod:`~ordergate.backtest.spool`), else to ``closed``; the
    statistics are kept as the trips close, the same either way."""

    open: dict[str, RoundTrip] = field(default_factory=dict)
    closed: list[RoundTrip] = field(default_factory=list)
    sink: Callable[[RoundTrip], None] | None = None
    count: int = 0
    wins: int = 0
    won: Decimal = ZERO
    lost: Decimal = ZERO

    def on_fill(
        self, symbol: str, side: str, qty: Decimal, px: Decimal, fee: Decimal, ts: datetime | str
    ) -> None:
        when = ts if isinstance(ts, str) else ts.isoformat()
        sign = 1 if side == "BUY" else -1
        trip = self.open.get(symbol)
        if trip is not None and (trip.position > 0) != (sign > 0):
            closing = min(qty, abs(trip.position))
            share = fee * closing / qty
            self._add(trip, sign, closing, px, share)
            if trip.position == 0:
                trip.closed = when
                self._close(trip)
                del self.open[symbol]
            qty, fee = qty - closing, fee - share
            if not qty:
                return
            trip = None
        if trip is None:
            trip = self.open[symbol] = RoundTrip(
                symbol=symbol, direction="LONG" if sign > 0 else "SHORT", opened=when
            )
        self._add(trip, sign, qty, px, fee)

    def _close(self, trip: RoundTrip) -> None:
        pnl = trip.sold_value - trip.bought_value - trip.fees  # RoundTrip.pnl
        self.count += 1
        if pnl > 0:
            self.wins += 1
            self.won += pnl
        elif pnl < 0:
            self.lost += pnl
        if self.sink is None:
            self.closed.append(trip)
        else:
            self.sink(trip)

    @staticmethod
    def _add(trip: RoundTrip, sign: int, qty: Decimal, px: Decimal, fee: Decimal) -> None:
        if sign > 0:
            trip.bought += qty
            trip.bought_value += qty * px
        else:
            trip.sold += qty
            trip.sold_value += qty * px
        trip.position += sign * qty
        size = abs(trip.position)
        if size > trip.qty:  # noqa: PLR1730 (once a fill: no call)
            trip.qty = size
        trip.fees += fee
        trip.fills += 1

    def stats(self) -> dict[str, Any]:
        """Win rate and profit factor over the closed trips."""
        count, won, lost = self.count, self.won, -self.lost
        return {
            "round_trips": count,
            "win_rate": fmt((Decimal(self.wins) / count).quantize(Decimal("0.0001")))
            if count
            else None,
            "profit_factor": fmt((won / lost).quantize(Decimal("0.0001"))) if lost else None,
            "gross_wins": fmt(won),
            "gross_losses": fmt(-lost),
        }

    def rows(self) -> list[dict[str, Any]]:
        """The rows of the trips kept in ``closed`` (a sink's trips are the sink's)."""
        return [t.to_dict() for t in self.closed]
