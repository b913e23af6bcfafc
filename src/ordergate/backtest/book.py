"""The backtest's running account: cash, positions and the equity curve, from fills.

It listens to the engine's ``executions.report`` events — the fills the engine
booked, after they committed — so it is derived from the same truth as the store,
and the runner can sample equity at every event without a query.

The curve keeps at most ``max_points`` points (every k-th timestamp, and the last),
and beside it the price of the first few symbols (for the report's fills-on-price
chart), while the peak, the maximum drawdown, the final equity and the figures of
:mod:`~ordergate.backtest.performance` are computed over every timestamp. Round trips
(:mod:`~ordergate.backtest.roundtrips`) are followed fill by fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.backtest.performance import Performance
from ordergate.backtest.roundtrips import RoundTrips
from ordergate.bus.memory import Event
from ordergate.domain.money import ZERO, fmt


@dataclass(slots=True)
class FillRow:
    """One booked fill as the engine published it."""

    exec_id: str
    order_id: str
    account_id: str
    strategy_id: str
    symbol: str
    side: str
    last_qty: Decimal
    last_px: Decimal
    commission: Decimal
    realized_gross: Decimal
    liquidity: str
    ts: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "exec_id": self.exec_id,
            "order_id": self.order_id,
            "account_id": self.account_id,
            "strategy_id": self.strategy_id,
            "symbol": self.symbol,
            "side": self.side,
            "last_qty": fmt(self.last_qty),
            "last_px": fmt(self.last_px),
            "commission": fmt(self.commission),
            "realized_gross": fmt(self.realized_gross),
            "liquidity": self.liquidity,
            "ts": self.ts,
        }


@dataclass(slots=True)
class Book:
    cash: Decimal
    keep_fills: bool = True
    max_points: int = 2000
    every: int = 1
    positions: dict[str, Decimal] = field(default_factory=dict)
    last: dict[str, Decimal] = field(default_factory=dict)
    fills: list[FillRow] = field(default_factory=list)
    fill_count: int = 0
    fees: Decimal = ZERO
    curve: list[tuple[datetime, Decimal, Decimal]] = field(default_factory=list)
    peak: Decimal | None = None
    max_drawdown: Decimal = ZERO
    equity: Decimal = ZERO
    traded: Decimal = ZERO
    performance: Performance = field(default_factory=Performance)
    trips: RoundTrips = field(default_factory=RoundTrips)
    #: symbol -> (ts, price) samples at the curve's points, for the first few symbols
    prices: dict[str, list[tuple[datetime, Decimal]]] = field(default_factory=dict)
    price_symbols: int = 4
    _seen: int = 0

    def on_fill(self, event: Event) -> None:
        payload = event.payload
        fill = payload["fill"]
        qty, px = Decimal(fill["last_qty"]), Decimal(fill["last_px"])
        commission = Decimal(fill["commission"])
        symbol, side = payload["symbol"], payload["side"]
        signed = qty if side == "BUY" else -qty
        self.positions[symbol] = self.positions.get(symbol, ZERO) + signed
        self.cash -= signed * px + commission
        self.fees += commission
        self.fill_count += 1
        self.traded += qty * px
        self.trips.on_fill(symbol, side, qty, px, commission, fill["ts"])
        if self.keep_fills:
            self.fills.append(
                FillRow(
                    exec_id=fill["exec_id"],
                    order_id=payload["order_id"],
                    account_id=payload["account_id"],
                    strategy_id=payload["strategy_id"],
                    symbol=symbol,
                    side=side,
                    last_qty=qty,
                    last_px=px,
                    commission=commission,
                    realized_gross=Decimal(fill["realized_gross"]),
                    liquidity=fill["liquidity"],
                    ts=fill["ts"],
                )
            )

    def position(self, symbol: str) -> Decimal:
        return self.positions.get(symbol, ZERO)

    def sample(self, ts: datetime) -> None:
        """Equity at ``ts`` (cash plus positions at their last prices)."""
        equity = self.cash
        exposed = False
        for symbol, qty in self.positions.items():
            if qty:
                exposed = True
                equity += qty * self.last.get(symbol, ZERO)
        self.equity = equity
        if self.peak is None or equity > self.peak:
            self.peak = equity
        drawdown = self.peak - equity
        if drawdown > self.max_drawdown:  # noqa: PLR1730 (once a tick: no call)
            self.max_drawdown = drawdown
        self.performance.add(ts, equity, exposed)
        if self._seen % self.every == 0:
            self._point(ts, equity)
        self._seen += 1

    def _point(self, ts: datetime, equity: Decimal) -> None:
        self.curve.append((ts, equity, self.cash))
        prices = self.prices
        for symbol, price in self.last.items():
            series = prices.get(symbol)
            if series is None:
                if len(prices) >= self.price_symbols:
                    continue
                series = prices[symbol] = []
            series.append((ts, price))

    def finish(self, ts: datetime) -> None:
        if not self.curve or self.curve[-1][0] != ts:
            self._point(ts, self.equity)

    def curve_rows(self) -> list[dict[str, Any]]:
        return [{"ts": t.isoformat(), "equity": fmt(e), "cash": fmt(c)} for t, e, c in self.curve]
