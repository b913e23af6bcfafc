"""The broker contract suite, run on the ``ibkr`` adapter against the fake TWS.

Not given to the suite: ``HidesOrders``. Its case asserts that a look-up of an order
IB took but does not show yet answers ``None``; this adapter proves its misses (the
ledger and ``nextValidId``), so for such an order it answers "unknown"
(``BrokerTimeout``) instead — ``test_ibkr_faults.py`` holds it to that.
"""

from __future__ import annotations

import pytest

from ordergate.testing.broker_contract import BrokerContract
from tests.brokers.ibkr.harness import IbkrHarness


class TestIbkrContract(BrokerContract):
    @pytest.fixture
    def harness(self, ibkr: IbkrHarness) -> IbkrHarness:
        return ibkr
