"""A broker that fails on command, over the real paper broker (so it keeps a real book)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ordergate.brokers.base import BrokerOrder, OrderRequest
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.errors import BrokerError
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.ports import BrokerCallPolicy
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.sqlite import SqliteStore


class FlakyBroker(PaperBroker):
    """Paper broker whose submits fail as scripted.

    ``submit_errors`` are raised in turn; ``arrives`` says whether the failed submit
    reached the book anyway (a timeout after accepting). ``lookup_error`` makes
    ``fetch_order`` fail.
    """

    adapter_id = "flaky"

    def __init__(self, clock: SimulatedClock, *, dedupes: bool = True) -> None:
        super().__init__(clock=clock)
        self.dedupes_client_order_id = dedupes
        self.submit_errors: list[tuple[BrokerError, bool]] = []
        self.lookup_error: BrokerError | None = None
        self.submit_calls = 0
        self.lookups = 0

    def submit(self, request: OrderRequest) -> BrokerOrder:
        self.submit_calls += 1
        if self.submit_errors:
            error, arrives = self.submit_errors.pop(0)
            if arrives:
                super().submit(request)
            raise error
        return super().submit(request)

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        self.lookups += 1
        if self.lookup_error is not None:
            raise self.lookup_error
        return super().fetch_order(client_order_id)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "og.db")
    s.migrate()
    yield s
    s.close()


def make_engine(
    store: SqliteStore,
    broker: PaperBroker,
    clock: SimulatedClock,
    *,
    retry: RetryPolicy | None = None,
    policy: BrokerCallPolicy | None = None,
) -> ExecutionEngine:
    engine = ExecutionEngine(
        store, broker, clock=clock, ids=SequentialIds(), retry=retry, call_policy=policy
    )
    engine.mark("AAPL", "100")
    return engine


def intent(key: str, qty: str = "10", side: str = "BUY") -> dict[str, str]:
    return {"idempotency_key": key, "symbol": "AAPL", "side": side, "qty": qty}
