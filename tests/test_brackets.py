"""Seed 004: SL/TP from the fill price, linked children, one-cancels-other."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from ordergate.brokers.base import Execution
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


def scripted(
    store: SqliteStore, clock: SimulatedClock, **options: Any
) -> tuple[ExecutionEngine, ScriptedBroker]:
    """An engine on a broker the test scripts (fills, repeats)."""
    broker = ScriptedBroker(clock)
    return ExecutionEngine(store, broker, clock=clock, ids=SequentialIds(), **options), broker


def children(engine: ExecutionEngine, parent_id: str) -> dict[OrderType, Any]:
    return {
        o.order_type: o
        for o in engine.orders(OrderQuery(limit=50))
        if o.parent_order_id == parent_id
    }


def test_seed_004_scenario_1_sl_tp_from_the_fill_price(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    engine, broker = scripted(store, clock)
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
    engine, broker = scripted(store, clock)
    report = engine.submit(entry())
    view = broker.fill(report.client_order_id, "100", "151", "x1")
    broker.push(view)
    broker.push(view)
    assert len(children(engine, report.order_id)) == 2
    assert len(broker.submits) == 3


def test_a_partial_fill_is_protected_at_once_and_a_cancel_adds_nothing(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    engine, broker = scripted(store, clock)
    report = engine.submit(entry(qty="1000"))
    broker.fill(report.client_order_id, "400", "100", "p1")
    legs = children(engine, report.order_id)  # the entry still works; its 400 are covered
    assert legs[OrderType.STOP].qty == D(400)
    assert legs[OrderType.LIMIT].qty == D(400)
    assert legs[OrderType.STOP].stop_price == D(98)
    assert legs[OrderType.LIMIT].limit_price == D(103)
    engine.cancel(report.order_id)
    assert len(tranches(engine, report.order_id)) == 2  # nothing new to protect


def tranches(engine: ExecutionEngine, parent_id: str) -> list[Any]:
    return sorted(
        (o for o in engine.orders(OrderQuery(limit=50)) if o.parent_order_id == parent_id),
        key=lambda o: o.idempotency_key,
    )


def test_each_later_fill_gets_its_own_tranche_priced_from_that_fill(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    engine, broker = scripted(store, clock)
    report = engine.submit(entry(qty="1000"))
    broker.fill(report.client_order_id, "400", "100", "p1")
    view = broker.fill(report.client_order_id, "600", "101", "p2")
    broker.push(view)  # reported again: no third tranche
    legs = {o.idempotency_key: o for o in tranches(engine, report.order_id)}
    assert sorted(legs) == ["adv-001:sl", "adv-001:sl:2", "adv-001:tp", "adv-001:tp:2"]
    assert (legs["adv-001:sl"].qty, legs["adv-001:sl"].stop_price) == (D(400), D(98))
    assert (legs["adv-001:sl:2"].qty, legs["adv-001:sl:2"].stop_price) == (D(600), D("98.98"))
    assert legs["adv-001:tp:2"].limit_price == D("104.03")
    assert sum(o.qty for k, o in legs.items() if ":sl" in k) == D(1000)  # all covered
    sent = {r.client_order_id: r for r in broker.submits}
    groups = {k: sent[o.client_order_id].oco_group for k, o in legs.items()}
    assert groups["adv-001:sl"] == groups["adv-001:tp"]
    assert groups["adv-001:sl:2"] == groups["adv-001:tp:2"]
    assert groups["adv-001:sl"] != groups["adv-001:sl:2"]


def test_one_cancels_other_within_its_tranche_only(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    engine, broker = scripted(store, clock)
    report = engine.submit(entry(qty="1000"))
    broker.fill(report.client_order_id, "400", "100", "p1")
    broker.fill(report.client_order_id, "600", "101", "p2")
    legs = {o.idempotency_key: o for o in tranches(engine, report.order_id)}
    broker.fill(legs["adv-001:tp"].client_order_id, "400", "103", "t1")  # first TP trades
    after = {o.idempotency_key: o for o in tranches(engine, report.order_id)}
    assert after["adv-001:tp"].status is OrderStatus.FILLED
    assert after["adv-001:sl"].status is OrderStatus.CANCELED
    assert after["adv-001:sl"].reason == "oco"
    assert after["adv-001:sl:2"].status is OrderStatus.ACCEPTED  # still protects its 600
    assert after["adv-001:tp:2"].status is OrderStatus.ACCEPTED
    assert engine.positions()[0].qty == D(600)


def test_one_cancels_other_on_the_paper_broker(store: SqliteStore, clock: SimulatedClock) -> None:
    engine = ExecutionEngine(store, PaperBroker(clock=clock), clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "150")
    report = engine.submit(entry())
    assert report.status is OrderStatus.FILLED
    fill_price = report.avg_price
    assert fill_price is not None
    legs = children(engine, report.order_id)
    target = legs[OrderType.LIMIT]
    assert target.limit_price == (fill_price * D("1.03")).quantize(D("0.001"))  # as the fill
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
    engine, broker = scripted(store, clock)
    report = engine.submit(entry())
    engine.gates = _KillAll()  # the switch goes ACTIVE while the entry is working
    assert engine.submit(entry("adv-002")).error_code == "E_RISK_KILL_SWITCH"
    broker.fill(report.client_order_id, "100", "151", "x1")
    legs = children(engine, report.order_id)
    assert {o.status for o in legs.values()} == {OrderStatus.ACCEPTED}
    assert engine.positions()[0].qty == D(100)


def test_bracket_prices_keep_the_fills_precision_not_an_average_s_digits(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    engine, broker = scripted(store, clock)
    report = engine.submit(entry(qty="3"))
    view = broker.orders[report.client_order_id]
    broker.push(
        replace(
            view,
            status=OrderStatus.FILLED,
            filled_qty=D(3),
            executions=tuple(
                Execution(exec_id=f"e{i}", last_qty=D(1), last_px=D(px), ts=clock.now())
                for i, px in enumerate(["100.01", "100.02", "100.04"])
            ),
        )
    )  # one message, three fills: an average of 100.02333…
    legs = children(engine, report.order_id)
    assert legs[OrderType.STOP].stop_price == D("98.02")  # 100.02333… x 0.98 = 98.0228…
    assert legs[OrderType.LIMIT].limit_price == D("103.02")  # x 1.03 = 103.0240…
    assert legs[OrderType.STOP].qty == D(3)


class _Quarters:
    """Instrument info: a future that trades in quarter points."""

    def tick_size(self, symbol: str) -> Decimal | None:
        return D("0.25") if symbol == "ES" else None


def test_bracket_prices_land_on_the_instrument_tick_when_known(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    engine, broker = scripted(store, clock, instruments=_Quarters())
    report = engine.submit(entry(symbol="ES", qty="2"))
    broker.fill(report.client_order_id, "2", "4500.25", "es1")
    legs = children(engine, report.order_id)
    assert legs[OrderType.STOP].stop_price == D("4410.25")  # 4410.245 on a 0.25 grid
    assert legs[OrderType.LIMIT].limit_price == D("4635.25")  # 4635.2575 -> 4635.25
    other = engine.submit(entry("adv-2", symbol="AAPL", qty="1"))
    broker.fill(other.client_order_id, "1", "150.075", "a1")
    assert children(engine, other.order_id)[OrderType.STOP].stop_price == D("147.074")


def test_the_composition_root_gives_the_engine_the_desk_s_tick_sizes() -> None:
    from ordergate.bootstrap import build_engine
    from ordergate.config import load_settings

    settings = load_settings(
        database_url="sqlite:///:memory:",
        risk={"limits": {"default": {"tick_size": "0.05"}}},
    )
    engine = build_engine(settings)
    assert engine.instruments is not None
    assert engine.instruments.tick_size("ANY") == D("0.05")


def test_reconcile_on_the_paper_broker_sees_both_working_legs(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    """Reconcile reads the broker's typed fields (type, prices, parent), not its raw
    message: the paper broker sends none, and its working SL and TP still match."""
    from ordergate.engine.reconcile import ReconcileStatus, reconcile

    engine = ExecutionEngine(store, PaperBroker(clock=clock), clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "150")
    report = engine.submit(entry())
    assert report.status is OrderStatus.FILLED
    legs = children(engine, report.order_id)
    assert {leg.status for leg in legs.values()} == {OrderStatus.ACCEPTED}
    result = reconcile(engine)
    assert result.status is ReconcileStatus.MATCHED, result.to_dict()
    # and a leg missing at the broker is still found
    engine.broker.cancel(legs[OrderType.STOP].client_order_id)
    missing = reconcile(engine)
    kinds = {m.kind for m in missing.mismatches}
    assert ReconcileStatus.MISSING_SL_TP in kinds
