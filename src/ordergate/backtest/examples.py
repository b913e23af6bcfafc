"""Example strategies, for the CLI, the tests and the benchmark.

- :func:`alternate`: one market order of 1 per event, buy then sell (the benchmark);
- :class:`SmaCross`: long ``size`` when the fast mean of closes is above the slow one,
  flat otherwise — answers with target positions;
- :func:`buy_and_hold`: buys ``100`` on the first event and holds.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any

from ordergate.backtest.runner import mark_fields
from ordergate.backtest.strategy import StrategyContext, Targets
from ordergate.sim.data import MarketEvent


class Alternate:
    """Buy 1, sell 1, buy 1, … one market order per event."""

    def __init__(self) -> None:
        self.n = 0

    def on_event(self, event: MarketEvent, ctx: StrategyContext) -> dict[str, Any]:
        self.n += 1
        side = "BUY" if self.n % 2 else "SELL"
        return {"symbol": event.symbol, "side": side, "qty": 1}


def alternate() -> Alternate:
    return Alternate()


class SmaCross:
    """Long ``size`` while the fast simple moving average is above the slow one."""

    def __init__(self, fast: int = 5, slow: int = 20, size: Decimal = Decimal(100)) -> None:
        self.fast, self.slow, self.size = fast, slow, size
        self.closes: dict[str, deque[Decimal]] = {}

    def on_event(self, event: MarketEvent, ctx: StrategyContext) -> Targets | None:
        closes = self.closes.setdefault(event.symbol, deque(maxlen=self.slow))
        closes.append(mark_fields(event)[0])
        if len(closes) < self.slow:
            return None
        window = list(closes)
        fast = sum(window[-self.fast :], Decimal(0)) / self.fast
        slow = sum(window, Decimal(0)) / self.slow
        return Targets({event.symbol: self.size if fast > slow else Decimal(0)})


class BuyAndHold:
    def __init__(self) -> None:
        self.done = False

    def on_event(self, event: MarketEvent, ctx: StrategyContext) -> dict[str, Any] | None:
        if self.done:
            return None
        self.done = True
        return {"symbol": event.symbol, "side": "BUY", "qty": 100}


def buy_and_hold() -> BuyAndHold:
    return BuyAndHold()
