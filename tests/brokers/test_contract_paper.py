"""The paper broker passes the broker contract suite.

Its fake is its own simulated venue, driven under a simulated clock: marks trade the
resting orders, a participation limit with a mark's volume splits a fill in parts, a
cancel latency lets a fill cross a cancel, and an order put straight into the venue
is one the broker originated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderType, Side, TimeInForce
from ordergate.domain.market import Mark
from ordergate.domain.wire import OrderRequest
from ordergate.sim.fills import NoSlippage
from ordergate.sim.latency import NO_DELAY
from ordergate.sim.matching import FillModel
from ordergate.testing.broker_contract import BrokerContract

PARTICIPATION = Decimal("0.5")
STEP = timedelta(milliseconds=250)


CENT = Decimal("0.01")


@dataclass
class ArmedLatency:
    """No latency, except one armed cancel that takes ``cancel_s`` to reach the venue."""

    armed: timedelta = NO_DELAY

    def submit_delay(self) -> timedelta:
        return NO_DELAY

    def cancel_delay(self) -> timedelta:
        delay, self.armed = self.armed, NO_DELAY
        return delay


class PaperHarness:
    symbol = "AAPL"
    account_id = "paper"  # what the paper broker's account reports
    price = Decimal(100)

    def __init__(self) -> None:
        self.clock = SimulatedClock()
        self.latency = ArmedLatency()
        self.adapter = PaperBroker(
            clock=self.clock,
            fill_model=FillModel(slippage=NoSlippage(), participation=PARTICIPATION),
            latency=self.latency,
            tradable=frozenset({self.symbol}),
        )
        self._parts = 1
        self._foreign = 0
        self._mark(self.price)

    def _mark(self, price: Decimal, volume: Decimal | None = None) -> None:
        self.adapter.on_mark(
            Mark(symbol=self.symbol, last=price, ts=self.clock.now(), volume=volume)
        )

    # -- BrokerHarness
    def trade(self, client_order_id: str) -> None:
        view = self.adapter.fetch_order(client_order_id)
        assert view is not None
        assert view.limit_price is not None
        parts, self._parts = self._parts, 1
        leaves = view.qty - view.filled_qty
        each = (leaves / parts).to_integral_value()
        # a print through the limit (a touch does not fill a resting limit)
        through = view.limit_price + (-CENT if view.side is Side.BUY else CENT)
        for _ in range(parts - 1):  # a capped mark fills one part
            self._mark(through, volume=each / PARTICIPATION)
        self._mark(through)  # an uncapped one the rest
        self._mark(self.price)

    def settle(self) -> None:
        self.clock.advance(STEP)
        self.adapter.advance()

    # -- abilities
    def arm_parts(self, parts: int) -> None:
        self._parts = parts

    def arm_reject(self, request: OrderRequest) -> tuple[OrderRequest, str]:
        return replace(request, symbol="ZZZZ"), "not tradable"

    def arm_cancel_race(self) -> None:
        self.latency.armed = STEP * 3

    def originate(self, side: Side, qty: Decimal) -> str:
        self._foreign += 1
        cid = f"desk-{self._foreign}"
        request = OrderRequest(
            client_order_id=cid,
            account_id=self.account_id,
            symbol=self.symbol,
            side=side,
            qty=qty,
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.DAY,
        )
        self.adapter.venue.submit(request, self.clock.now())  # behind the adapter's back
        return cid


class TestPaperContract(BrokerContract):
    @pytest.fixture
    def harness(self) -> PaperHarness:
        return PaperHarness()
