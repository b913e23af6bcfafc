"""The Alpaca adapter (real alpaca-py) passes the broker contract suite against the
fake Alpaca on 127.0.0.1 (REST and the trade_updates websocket)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ordergate.testing.broker_contract import BrokerContract
from tests.brokers.alpaca.fake import FakeAlpaca
from tests.brokers.alpaca.harness import AlpacaHarness


class TestAlpacaContract(BrokerContract):
    @pytest.fixture
    def harness(self, fake_alpaca: FakeAlpaca) -> Iterator[AlpacaHarness]:
        harness = AlpacaHarness(fake_alpaca)
        yield harness
        harness.close()
