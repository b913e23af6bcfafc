"""Issue 11, part 3: what a hard timeout and a timed-out attempt leave behind.

- After the hard timeout cancels an order, that order is reconciled by itself (seed
  004, scenario 3) and the report is linked to it.
- A report whose order is working or filled never carries the error code of an
  earlier submit attempt that timed out and was then found at the broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ordergate.brokers.base import BrokerOrder, OrderRequest
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerTimeout
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.reconcile import ReconcileStatus
from ordergate.engine.reconcile_log import reconcile_log_for
from ordergate.engine.tracking import OrderTracker, TrackingConfig
from ordergate.store.sqlite import SqliteStore

from .fakes import ScriptedBroker


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[SimulatedClock, ScriptedBroker, ExecutionEngine]]:
    clock = SimulatedClock()
    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    broker = ScriptedBroker(clock)
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "100")
    yield clock, broker, engine
    store.close()


def intent(key: str = "k1") -> dict[str, Any]:
    return {"idempotency_key": key, "symbol": "AAPL", "side": "BUY", "qty": "10"}


def test_a_timed_out_order_is_reconciled_and_linked(parts: Any) -> None:
    clock, _broker, engine = parts
    seen: list[dict[str, Any]] = []
    engine.subscribe("ops.reconcile.report", lambda event: seen.append(event.payload))
    tracker = OrderTracker(engine, TrackingConfig(hard_timeout=30))
    report = engine.submit(intent())
    assert report.status is OrderStatus.ACCEPTED
    clock.advance(timedelta(seconds=29))
    tracker.tick()
    assert not tracker.timeout_reports  # not yet timed out
    clock.advance(timedelta(seconds=2))
    result = tracker.tick()
    assert result.timed_out == [report.order_id]
    assert engine.order(report.order_id).status is OrderStatus.CANCELED
    report_id = tracker.timeout_reports[report.order_id]
    [kept] = reconcile_log_for(engine.store).for_order(report.order_id)
    assert kept["report_id"] == report_id
    assert kept["order_id"] == report.order_id
    assert kept["status"] == ReconcileStatus.MATCHED.value
    assert [p["report_id"] for p in seen] == [report_id]
    tracker.tick()  # once only
    assert len(reconcile_log_for(engine.store).for_order(report.order_id)) == 1


def test_a_timed_out_order_the_broker_still_works_needs_a_person(parts: Any) -> None:
    clock, broker, engine = parts
    tracker = OrderTracker(engine, TrackingConfig(hard_timeout=30))
    report = engine.submit(intent())
    clock.advance(timedelta(seconds=31))
    # the broker confirms the cancel but its book still holds the order working
    real_cancel = broker.cancel

    def cancel_but_keep_working(cid: str) -> BrokerOrder:
        view = real_cancel(cid)
        broker.orders[cid] = broker.ack(
            OrderRequest(
                client_order_id=cid,
                account_id="default",
                symbol="AAPL",
                side=view.side,
                qty=view.qty,
                order_type=report_order(engine, report.order_id).order_type,
                time_in_force=report_order(engine, report.order_id).time_in_force,
            )
        )
        return view

    broker.cancel = cancel_but_keep_working  # type: ignore[method-assign]
    tracker.tick()
    [kept] = reconcile_log_for(engine.store).for_order(report.order_id)
    assert kept["requires_manual_resolution"] is True
    assert kept["mismatches"][0]["subject"] == report.order_id


def report_order(engine: ExecutionEngine, order_id: str) -> Any:
    return engine.order(order_id)


def test_a_resolved_timeout_leaves_no_error_code_on_a_working_order(parts: Any) -> None:
    _clock, broker, engine = parts
    state = {"calls": 0}

    def submit(request: OrderRequest) -> BrokerOrder:
        state["calls"] += 1
        broker.orders[request.client_order_id] = broker.ack(request)
        raise BrokerTimeout("no answer within 2000 ms")  # it arrived; the reply was lost

    broker.on_submit = submit
    report = engine.submit(intent())
    assert report.status is OrderStatus.ACCEPTED
    assert report.error_code == ""
    assert report.to_dict()["error_code"] is None
    # the attempt is still in the record
    topics = [e.topic for e in engine.store.events_for(report.order_id)]
    assert "orders.submit_attempt" in topics
    filled = broker.fill(report.client_order_id, "10", "100", "E1")
    engine.on_broker_update(filled)
    assert engine.report(report.order_id).error_code == ""


def test_a_broker_s_rejection_reason_is_redacted_before_it_is_kept(tmp_path: Path) -> None:
    from ordergate.domain.errors import BrokerRejected
    from ordergate.obs.redact import Redactor

    clock = SimulatedClock()
    store = SqliteStore(tmp_path / "r.db")
    store.migrate()
    broker = ScriptedBroker(clock)
    secret = "broker-secret-9f8e7d"
    engine = ExecutionEngine(
        store, broker, clock=clock, ids=SequentialIds(), redactor=Redactor([secret])
    )
    engine.mark("AAPL", "100")

    def reject(request: OrderRequest) -> BrokerOrder:
        raise BrokerRejected(f"margin check failed for key {secret} (api_key=AKIA55; acct U1)")

    broker.on_submit = reject
    report = engine.submit(intent("rej"))
    assert report.status is OrderStatus.REJECTED
    for text in (
        report.error_message,
        engine.order(report.order_id).error_message,
        *(e.payload for e in engine.store.events_for(report.order_id)),
    ):
        assert secret not in str(text)
        assert "AKIA55" not in str(text)
    assert "margin check failed" in report.error_message
    # and a rejection that arrives on the stream
    broker.on_submit = None
    working = engine.submit(intent("later"))
    from dataclasses import replace

    view = broker.orders[working.client_order_id]
    broker.push(replace(view, status=OrderStatus.REJECTED, reason=f"token={secret}"))
    assert secret not in engine.order(working.order_id).error_message
    store.close()
