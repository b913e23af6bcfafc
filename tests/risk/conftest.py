"""Shared builders for the risk tests: a simulated clock, intents and gate contexts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.intent import OrderIntent
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.positions import Position
from ordergate.engine.ports import GateContext

START = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)

IntentFactory = Callable[..., OrderIntent]
ContextFactory = Callable[..., GateContext]


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def make_intent() -> IntentFactory:
    counter = iter(range(1, 1_000_000))

    def build(**fields: Any) -> OrderIntent:
        data: dict[str, Any] = {
            "idempotency_key": f"k-{next(counter)}",
            "symbol": "AAPL",
            "side": "BUY",
            "qty": "100",
        }
        data.update(fields)
        return OrderIntent.parse(data)

    return build


@pytest.fixture
def make_context() -> ContextFactory:
    def build(
        *,
        position: str = "0",
        last: str | None = "150.00",
        bid: str | None = None,
        ask: str | None = None,
        open_qty: str = "0",
        symbol: str = "AAPL",
    ) -> GateContext:
        mark = None
        if last is not None:
            mark = Mark(
                symbol=symbol,
                last=Decimal(last),
                bid=None if bid is None else Decimal(bid),
                ask=None if ask is None else Decimal(ask),
                ts=START,
            )
        qty = Decimal(position)
        avg = Decimal(last or "0") if qty else ZERO
        return GateContext(
            position=Position(symbol=symbol, qty=qty, avg_price=avg),
            mark=mark,
            open_orders_qty=Decimal(open_qty),
        )

    return build
