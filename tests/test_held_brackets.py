"""Brackets carried as the broker's capabilities allow (issue 12, part 4): natively
where the broker links orders, held by the engine (one leg working, the other armed)
where working orders reserve quantity and nothing native exists."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.enums import OrderStatus, OrderType
from ordergate.domain.order import Order
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.recovery import recover
from ordergate.store.sqlite import SqliteStore

from .fakes import ScriptedBroker


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "og.db")
    s.migrate()
    yield s
    s.close()


def broker_with(clock: SimulatedClock, **caps: Any) -> ScriptedBroker:
    broker = ScriptedBroker(clock)
    broker.capabilities = replace(broker.capabilities, **caps)
    return broker


def entry() -> dict[str, Any]:
    return {
        "idempotency_key": "e1",
        "symbol": "AAPL",
        "side": "BUY",
        "qty": "100",
        "sl_offset_pct": "-0.02",
        "tp_offset_pct": "0.03",
    }


def legs(engine: ExecutionEngine, parent_id: str) -> dict[OrderType, Order]:
    return {o.order_type: o for o in engine.orders() if o.parent_order_id == parent_id}


def working_exits(broker: ScriptedBroker) -> int:
    return sum(1 for o in broker.orders.values() if o.status.is_open and o.side.value == "SELL")


def filled_entry(store: SqliteStore, broker: ScriptedBroker, clock: SimulatedClock) -> Any:
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "100")
    report = engine.submit(entry())
    broker.fill(report.client_order_id, "100", "100", "E1")
    return engine, report


def test_where_orders_reserve_quantity_the_target_is_held_until_reached(
    store: SqliteStore,
) -> None:
    clock = SimulatedClock()
    broker = broker_with(clock, reserves_quantity=True)
    engine, report = filled_entry(store, broker, clock)
    children = legs(engine, report.order_id)
    assert children[OrderType.STOP].status is OrderStatus.ACCEPTED  # the stop works
    assert children[OrderType.LIMIT].status is OrderStatus.PENDING  # the target is armed
    assert working_exits(broker) == 1
    engine.mark("AAPL", "102")  # not there yet
    assert legs(engine, report.order_id)[OrderType.LIMIT].status is OrderStatus.PENDING
    engine.mark("AAPL", "103.10")  # the target (103.00) is reached
    after = legs(engine, report.order_id)
    assert after[OrderType.STOP].status is OrderStatus.CANCELED
    assert after[OrderType.STOP].reason == "oco"
    assert after[OrderType.LIMIT].status is OrderStatus.ACCEPTED
    assert working_exits(broker) == 1  # never both
    assert len([s for s in broker.submits if s.side.value == "SELL"]) == 2


def test_a_stop_that_fills_first_cancels_the_armed_target_unsent(store: SqliteStore) -> None:
    clock = SimulatedClock()
    broker = broker_with(clock, reserves_quantity=True)
    engine, report = filled_entry(store, broker, clock)
    stop = legs(engine, report.order_id)[OrderType.STOP]
    broker.fill(stop.client_order_id, "100", "98", "E2")
    after = legs(engine, report.order_id)
    assert after[OrderType.STOP].status is OrderStatus.FILLED
    assert after[OrderType.LIMIT].status is OrderStatus.CANCELED
    assert all(s.order_type is not OrderType.LIMIT for s in broker.submits)  # never sent
    engine.mark("AAPL", "110")  # a later mark triggers nothing
    assert all(s.order_type is not OrderType.LIMIT for s in broker.submits)


def test_an_armed_leg_survives_a_restart_and_is_never_resent_by_recovery(
    store: SqliteStore,
) -> None:
    clock = SimulatedClock()
    broker = broker_with(clock, reserves_quantity=True)
    _, report = filled_entry(store, broker, clock)
    sent_before = len(broker.submits)
    restarted = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    recover(restarted)
    assert len(broker.submits) == sent_before
    restarted.mark("AAPL", "104")
    assert legs(restarted, report.order_id)[OrderType.LIMIT].status is OrderStatus.ACCEPTED


def test_a_native_oco_broker_gets_both_legs_and_cancels_the_other_itself(
    store: SqliteStore,
) -> None:
    clock = SimulatedClock()
    broker = broker_with(clock, reserves_quantity=True, native_oco=True)
    engine, report = filled_entry(store, broker, clock)
    children = legs(engine, report.order_id)
    assert {o.status for o in children.values()} == {OrderStatus.ACCEPTED}
    groups = {s.oco_group for s in broker.submits if s.side.value == "SELL"}
    assert len(groups) == 1  # one OCO group for the tranche
    assert None not in groups
    broker.fill(children[OrderType.LIMIT].client_order_id, "100", "103", "E3")
    cancels = [o for o in engine.orders() if o.status is OrderStatus.PENDING_CANCEL]
    assert cancels == []  # the engine leaves the other leg to the broker
