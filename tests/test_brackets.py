"""Seed 004: SL/TP from the fill price, linked children, one-cancels-other."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.enums import OrderStatus, OrderType, Side
from ordergate.domain.errors import ErrorCode
from ordergate.domain.intent import OrderIntent
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.ports import GateContext, Rejection
from ordergate.store.base import OrderQuery
from ordergate.store.sqlite import SqliteStore
from tests.fakes import ScriptedBroker

D = Decimal


def entry(key: str = "adv-001", **changes: Any) -> dict[str, Any]:
    return {
        "symbol": "AAPL",
        "side": "buy",
        "qty": "100",
        "idempotency_key": key,
        "sl_offset_pct": "-0.02",
        "tp_offset_pct": "0.03",
        **changes,
    }


def children(engine: ExecutionEngine, parent_id: str) -> dict[OrderType, Any]:
    return {
        o.order_type: o
        for o in engine.orders(OrderQuery(limit=50))
        if o.parent_order_id == parent_id
    }


def test_seed_004_scenario_1_sl_tp_from_the_fill_price(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = ScriptedBroker(clock)
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    report = engine.submit(entry())
    broker.fill(report.client_order_id, "100", "151.00", "x1")
    legs = children(engine, report.order_id)
    stop, target = legs[OrderType.STOP], legs[OrderType.LIMIT]
    assert stop.stop_price == D("147.98")  # 151 x 0.98, not the 150 reference
    assert target.limit_price == D("155.53")  # 151 x 1.03
    assert (stop.side, target.side) == (Side.SELL, Side.SELL)
    assert stop.qty == target.qty == D(100)
    assert stop.status is OrderStatus.ACCEPTED
    assert target.status is OrderStatus.ACCEPTED
    sent = {r.client_order_id: r for r in broker.submits}
    assert sent[stop.client_order_id].oco_group == sent[target.client_order_id].oco_group
    assert sent[stop.client_order_id].parent_client_order_id == report.client_order_id


def test_children_are_placed_once_even_when_the_fill_is_reported_again(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = ScriptedBroker(clock)
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    report = engine.submit(entry())
    view = broker.fill(report.client_order_id, "100", "151", "x1")
    broker.push(view)
    broker.push(view)
    assert len(children(engine, report.order_id)) == 2
    assert len(broker.submits) == 3


def test_a_partial_fill_then_cancel_sizes_the_children_to_what_filled(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = ScriptedBroker(clock)
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    report = engine.submit(entry(qty="1000"))
    broker.fill(report.client_order_id, "400", "100", "p1")
    assert children(engine, report.order_id) == {}  # not done yet
    engine.cancel(report.order_id)
    legs = children(engine, report.order_id)
    assert legs[OrderType.STOP].qty == D(400)
    assert legs[OrderType.LIMIT].qty == D(400)
    assert legs[OrderType.STOP].stop_price == D(98)


def test_one_cancels_other_on_the_paper_broker(store: SqliteStore, clock: SimulatedClock) -> None:
    engine = ExecutionEngine(store, PaperBroker(clock=clock), clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "150")
    report = engine.submit(entry())
    assert report.status is OrderStatus.FILLED
    fill_price = report.avg_price
    assert fill_price is not None
    legs = children(engine, report.order_id)
    target = legs[OrderType.LIMIT]
    assert target.limit_price == fill_price * D("1.03")
    engine.mark("AAPL", str(target.limit_price + 1))  # the take profit trades
    after = children(engine, report.order_id)
    assert after[OrderType.LIMIT].status is OrderStatus.FILLED
    assert after[OrderType.STOP].status is OrderStatus.CANCELED
    assert after[OrderType.STOP].reason == "oco"
    [position] = engine.positions()
    assert position.qty == 0


class _KillAll:
    """A gate that says no to everything, like an ACTIVE global kill switch."""

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        return Rejection(ErrorCode.E_RISK_KILL_SWITCH, {"kind": "GLOBAL"})


def test_kill_switch_after_the_fill_never_removes_the_protection(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    """Seed 004: kill switch AFTER a fill — the position stays open with SL/TP intact."""
    broker = ScriptedBroker(clock)
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    report = engine.submit(entry())
    engine.gates = _KillAll()  # the switch goes ACTIVE while the entry is working
    assert engine.submit(entry("adv-002")).error_code == "E_RISK_KILL_SWITCH"
    broker.fill(report.client_order_id, "100", "151", "x1")
    legs = children(engine, report.order_id)
    assert {o.status for o in legs.values()} == {OrderStatus.ACCEPTED}
    assert engine.positions()[0].qty == D(100)
