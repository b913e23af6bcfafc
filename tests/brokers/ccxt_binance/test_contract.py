"""The ccxt adapter (real ccxt, Binance) passes the broker contract suite against the
fake Binance on 127.0.0.1. It polls (Binance spot's REST has no order stream), so
the stream-shaping and stream-dropping abilities do not apply."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ordergate.testing.broker_contract import BrokerContract
from tests.brokers.ccxt_binance.fake import FakeBinance
from tests.brokers.ccxt_binance.harness import BinanceHarness


class TestBinanceContract(BrokerContract):
    @pytest.fixture
    def harness(self, fake_binance: FakeBinance) -> Iterator[BinanceHarness]:
        harness = BinanceHarness(fake_binance)
        yield harness
        harness.close()
