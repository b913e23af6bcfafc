"""The resend rule (DESIGN.md; issue 12, part 3).

A submit whose outcome is unknown is resent automatically only where the broker
dedupes by client order id or a look-up miss is conclusive. Otherwise the order stays
unknown (``SUBMITTED``), is looked up again on a schedule, and after a bound goes to a
reconcile report for a person — never resent blind.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ordergate.brokers.base import BrokerOrder, OrderRequest
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.capabilities import BrokerCapabilities, ClientIdDedupe, Lookup
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerTimeout
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.reconcile_log import reconcile_log_for
from ordergate.engine.recovery import recover
from ordergate.engine.tracking import OrderTracker, TrackingConfig
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.sqlite import SqliteStore

from .fakes import ScriptedBroker


class Invisible(ScriptedBroker):
    """Takes an order, loses the reply, and shows it to look-ups only once told to
    (an order book that lags, like Kite's)."""

    def __init__(self, clock: SimulatedClock, caps: BrokerCapabilities) -> None:
        super().__init__(clock)
        self.capabilities = caps
        self.hidden: set[str] = set()

    def submit(self, request: OrderRequest) -> BrokerOrder:
        self.submits.append(request)
        self.orders[request.client_order_id] = self.ack(request)
        self.hidden.add(request.client_order_id)
        raise BrokerTimeout("no answer within 2000 ms")

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        if client_order_id in self.hidden:
            return None
        return self.orders.get(client_order_id)


NEVER = BrokerCapabilities(dedupe=ClientIdDedupe.NEVER, lookup=Lookup.BY_TAG)
CONCLUSIVE = BrokerCapabilities(
    dedupe=ClientIdDedupe.NEVER, lookup=Lookup.BY_CLIENT_ID, lookup_miss_conclusive=True
)
DEDUPES = BrokerCapabilities(dedupe=ClientIdDedupe.ALWAYS, lookup=Lookup.BY_CLIENT_ID)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "og.db")
    s.migrate()
    yield s
    s.close()


def engine_on(store: SqliteStore, broker: ScriptedBroker, clock: SimulatedClock) -> ExecutionEngine:
    engine = ExecutionEngine(
        store,
        broker,
        clock=clock,
        ids=SequentialIds(),
        retry=RetryPolicy(max_retries=3, base_delay=0),
    )
    engine.mark("AAPL", "100")
    return engine


def intent(key: str = "k1") -> dict[str, Any]:
    return {"idempotency_key": key, "symbol": "AAPL", "side": "BUY", "qty": "10"}


def test_an_inconclusive_miss_at_a_broker_that_does_not_dedupe_is_never_resent(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = Invisible(clock, NEVER)
    engine = engine_on(store, broker, clock)
    report = engine.submit(intent())
    assert report.status is OrderStatus.SUBMITTED  # unknown, with retries to spare
    assert len(broker.submits) == 1
    # a restart: recovery finds nothing and, the miss proving nothing, sends nothing
    result = recover(engine)
    assert result.unknown == [report.order_id]
    assert result.resubmitted == []
    assert len(broker.submits) == 1


def test_an_unknown_order_is_looked_up_on_a_schedule_then_reported(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = Invisible(clock, NEVER)
    engine = engine_on(store, broker, clock)
    tracker = OrderTracker(engine, TrackingConfig(unknown_after=5, unknown_report_after=300))
    report = engine.submit(intent())
    for _ in range(3):
        clock.advance(timedelta(seconds=60))
        tracker.tick()
        assert engine.order(report.order_id).status is OrderStatus.SUBMITTED  # never canceled
    assert not tracker.unknown_reports
    clock.advance(timedelta(seconds=200))
    tracker.tick()
    report_id = tracker.unknown_reports[report.order_id]
    [kept] = reconcile_log_for(store).for_order(report.order_id)
    assert kept["report_id"] == report_id
    assert kept["requires_manual_resolution"] is True
    assert "outcome is unknown" in kept["mismatches"][0]["message"]
    assert len(broker.submits) == 1
    # the book catches up: the next look-up adopts the order
    broker.hidden.clear()
    clock.advance(timedelta(seconds=1))
    tracker.tick()
    assert engine.order(report.order_id).status is OrderStatus.ACCEPTED
    assert len(broker.submits) == 1


@pytest.mark.parametrize("caps", [CONCLUSIVE, DEDUPES], ids=["conclusive-miss", "dedupes"])
def test_a_resend_is_allowed_where_the_rule_says_so(
    store: SqliteStore, clock: SimulatedClock, caps: BrokerCapabilities
) -> None:
    broker = Invisible(clock, caps)
    engine = engine_on(store, broker, clock)
    engine.submit(intent())
    assert len(broker.submits) > 1  # the miss proved absence, or a repeat is harmless
