"""The Kite adapter passes the broker contract suite: the real ``kiteconnect`` against
the fake Kite Connect v3 REST API on 127.0.0.1.

Skipped, and why: ``test_reconnect`` and ``test_duplicate_and_out_of_order_reports``
need a push stream the fake can cut or shape; Kite's updates here are a poll of the
same REST books that look-ups read, so there is no separate stream to cut (failed
polls and their catch-up are ``test_kite.py::test_failed_polls_catch_up``), and a poll
diff delivers each change once by construction.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ordergate.testing.broker_contract import BrokerContract
from tests.brokers.kite.fake_kite import FakeKite
from tests.brokers.kite.kit import KiteHarness


class TestKiteContract(BrokerContract):
    @pytest.fixture
    def harness(self, fake: FakeKite) -> Iterator[KiteHarness]:
        harness = KiteHarness(fake)
        yield harness
        harness.close()
