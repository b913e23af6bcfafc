"""An adapter from a package of its own — found through its entry point, built by the
registry in LIVE against its account — runs the same broker contract suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.brokers.registry import build_broker_from_registry
from ordergate.clock import SimulatedClock
from ordergate.config import CONFIG_ENV, load_settings
from ordergate.domain.enums import OrderType, Side, TimeInForce
from ordergate.domain.market import Mark
from ordergate.domain.wire import OrderRequest
from ordergate.testing.broker_contract import BrokerContract
from tests.brokers.conftest import PLUGINS, Install

STEP_S = 0.25


class DummyHarness:
    """The dummy's fake is its paper venue: marks trade, the venue takes desk orders."""

    symbol = "MSFT"
    account_id = "DU000001"
    price = Decimal(200)

    def __init__(self, adapter: PaperBroker, clock: SimulatedClock) -> None:
        self.adapter = adapter
        self.clock = clock
        self._foreign = 0
        self._mark(self.price)

    def _mark(self, price: Decimal) -> None:
        self.adapter.on_mark(Mark(symbol=self.symbol, last=price, ts=self.clock.now()))

    def trade(self, client_order_id: str) -> None:
        view = self.adapter.fetch_order(client_order_id)
        assert view is not None
        assert view.limit_price is not None
        self._mark(view.limit_price * Decimal("0.98"))  # through it, slippage and all
        self._mark(self.price)

    def settle(self) -> None:
        self.clock.advance(timedelta(seconds=STEP_S))
        self.adapter.advance()

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
        self.adapter.venue.submit(request, self.clock.now())
        return cid


class TestDummyContract(BrokerContract):
    @pytest.fixture
    def harness(
        self, install: Install, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> Iterator[DummyHarness]:
        monkeypatch.chdir(tmp_path)
        monkeypatch.delenv(CONFIG_ENV, raising=False)
        monkeypatch.setenv("ORDERGATE_DUMMY_API_TOKEN", "t")
        install(PLUGINS / "og_dummy_broker")
        settings = load_settings(
            database_url="sqlite:///:memory:",
            exec_broker_adapter="dummy",
            mode="LIVE",
            account_id="DU000001",
        )
        clock = SimulatedClock()
        adapter = build_broker_from_registry(settings, clock)
        assert isinstance(adapter, PaperBroker)
        assert type(adapter).__module__ == "og_dummy_broker.plugin"
        yield DummyHarness(adapter, clock)
        for module in [m for m in sys.modules if m.startswith("og_dummy_broker")]:
            del sys.modules[module]
