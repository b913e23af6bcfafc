"""engine.modify on the paper broker (in-place REPLACE), on a real SQLite file."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import (
    ErrorCode,
    IdempotencyConflict,
    InvalidIntent,
    OrderNotFound,
    OrderNotModifiable,
)
from ordergate.domain.events import REPLACE_REQUESTED_TOPIC, REPLACED_TOPIC
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.audit import verify_chain
from ordergate.risk.config import RiskConfig
from ordergate.risk.desk import RiskDesk
from ordergate.sim.matching import FillModel
from ordergate.store.sqlite import SqliteStore
from tests.obs.chainkit import raw

D = Decimal


def resting(engine: ExecutionEngine, key: str = "k-1", **changes: Any) -> str:
    """A buy limit well below the market: it rests."""
    engine.mark("AAPL", "100")
    body = {
        "symbol": "AAPL",
        "side": "buy",
        "qty": "10",
        "order_type": "limit",
        "limit_price": "90",
        "idempotency_key": key,
        **changes,
    }
    report = engine.submit(body)
    assert report.status is OrderStatus.ACCEPTED, report
    return report.order_id


def topics(engine: ExecutionEngine, order_id: str) -> list[str]:
    return [e.topic for e in engine.store.events_for(order_id)]


def test_a_price_change_is_persisted_then_confirmed(
    engine: ExecutionEngine, paper: PaperBroker
) -> None:
    order_id = resting(engine)
    report = engine.modify(order_id, limit_price="95", key="m-1")
    order = engine.order(order_id)
    assert order.limit_price == D("95")
    assert order.pending_replace is None
    assert order.replace_no == 1
    assert order.status is OrderStatus.ACCEPTED
    assert report.extra["replace"]["state"] == "replaced"
    assert report.extra["replace"]["client_order_id"] == f"{order.client_order_id}.r1"
    assert paper.fetch_order(order.client_order_id).limit_price == D("95")  # type: ignore[union-attr]
    got = topics(engine, order_id)
    assert got.index(REPLACE_REQUESTED_TOPIC) < got.index(REPLACED_TOPIC)
    # the replaced terms are what the events say (the audit re-folds the order row)
    [event] = [e for e in engine.store.events_for(order_id) if e.topic == REPLACED_TOPIC]
    assert event.payload["limit_price"] == "95"


def test_a_quantity_increase_then_fills_in_full(engine: ExecutionEngine) -> None:
    order_id = resting(engine)
    engine.modify(order_id, qty="15", key="m-1")
    assert engine.order(order_id).qty == D("15")
    engine.mark("AAPL", "89")  # crosses the limit
    order = engine.order(order_id)
    assert order.status is OrderStatus.FILLED
    assert order.filled_qty == D("15")
    assert [p.qty for p in engine.positions()] == [D("15")]


def test_the_same_key_and_change_replays_a_new_change_conflicts(
    engine: ExecutionEngine, paper: PaperBroker
) -> None:
    order_id = resting(engine)
    first = engine.modify(order_id, limit_price="95", key="m-1")
    again = engine.modify(order_id, limit_price="95", key="m-1")
    assert again.replayed
    assert not first.replayed
    assert engine.order(order_id).replace_no == 1
    cid = engine.order(order_id).client_order_id
    assert paper.venue.orders[cid].replaces == [f"{cid}.r1"]
    with pytest.raises(IdempotencyConflict) as info:
        engine.modify(order_id, limit_price="96", key="m-1")
    assert info.value.code is ErrorCode.E_EXEC_IDEMPOTENCY_CONFLICT
    engine.modify(order_id, limit_price="96", key="m-2")
    assert engine.order(order_id).replace_no == 2
    assert paper.venue.orders[cid].replaces == [f"{cid}.r1", f"{cid}.r2"]


def test_refusals_carry_codes(engine: ExecutionEngine) -> None:
    with pytest.raises(OrderNotFound):
        engine.modify("nope", qty="5")
    order_id = resting(engine)
    with pytest.raises(InvalidIntent) as info:
        engine.modify(order_id)
    assert info.value.code is ErrorCode.E_ORDER_MODIFY_INVALID
    with pytest.raises(InvalidIntent) as info:
        engine.modify(order_id, stop_price="80")  # a LIMIT order has no stop
    assert info.value.code is ErrorCode.E_ORDER_MODIFY_INVALID
    with pytest.raises(InvalidIntent) as info:
        engine.modify(order_id, qty="-1")
    assert info.value.code is ErrorCode.E_ORDER_MODIFY_INVALID
    with pytest.raises(InvalidIntent) as info:
        engine.modify(order_id, limit_price="90")  # the terms it has
    assert info.value.code is ErrorCode.E_ORDER_MODIFY_INVALID
    engine.cancel(order_id)
    with pytest.raises(OrderNotModifiable) as refused:
        engine.modify(order_id, qty="5")
    assert refused.value.code is ErrorCode.E_ORDER_NOT_MODIFIABLE
    assert engine.order(order_id).replace_no == 0


def test_qty_at_or_below_filled_is_refused(engine: ExecutionEngine, paper: PaperBroker) -> None:
    paper.venue.fill_model = FillModel(participation=D("0.5"))
    order_id = resting(engine)
    engine.mark("AAPL", "89", volume="8")  # half of 8: 4 of 10 fill
    order = engine.order(order_id)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_qty == D("4")
    for qty in ("4", "3"):
        with pytest.raises(InvalidIntent) as info:
            engine.modify(order_id, qty=qty)
        assert info.value.code is ErrorCode.E_ORDER_MODIFY_INVALID
    engine.modify(order_id, qty="6")
    assert engine.order(order_id).qty == D("6")
    assert engine.order(order_id).leaves_qty == D("2")


def test_a_fill_racing_the_replace_is_applied_once_and_the_refusal_recorded(
    engine: ExecutionEngine, paper: PaperBroker
) -> None:
    """The order fills at the venue on its old terms before the replace gets there; the
    venue refuses the replace (too late), the fill is booked once."""
    order_id = resting(engine)
    cid = engine.order(order_id).client_order_id
    original = paper.modify

    def fill_first(client_order_id: str, **terms: Any) -> Any:
        paper.venue.on_event(_mark("89"))  # the venue fills it first (unseen)
        paper.venue.drain_changes()
        return original(client_order_id, **terms)

    paper.modify = fill_first  # type: ignore[method-assign]
    report = engine.modify(order_id, qty="5", key="m-1")
    order = engine.order(order_id)
    assert order.status is OrderStatus.FILLED
    assert order.filled_qty == D("10")
    assert order.qty == D("10")
    assert order.pending_replace is None
    assert report.extra["replace"]["state"] == "rejected"
    assert order.error_code == ErrorCode.E_EXEC_BROKER_REJECTED.name
    assert "too late" in order.error_message
    assert len(engine.fills(order_id)) == 1
    engine.sync_broker_state()
    assert len(engine.fills(order_id)) == 1
    assert paper.venue.orders[cid].replaces == []


def test_a_gate_refuses_an_increase_past_the_max_qty(
    store: SqliteStore, paper: PaperBroker, clock: SimulatedClock
) -> None:
    config = RiskConfig.from_mapping({"limits": {"default": {"tick_size": "0.01"}}})
    desk = RiskDesk(store, clock, config, trading_day=lambda when: when.date().isoformat())
    engine = ExecutionEngine(store, paper, clock=clock, gates=desk)
    order_id = resting(engine)
    with pytest.raises(OrderNotModifiable) as info:
        engine.modify(order_id, qty="2000000")
    assert info.value.code is ErrorCode.E_RISK_MAX_QTY
    with pytest.raises(OrderNotModifiable) as info:
        engine.modify(order_id, limit_price="95.001")
    assert info.value.code is ErrorCode.E_RISK_TICK_SIZE
    assert engine.order(order_id).replace_no == 0


def test_the_audit_refolds_a_modified_order(engine: ExecutionEngine, store: SqliteStore) -> None:
    order_id = resting(engine)
    engine.modify(order_id, qty="12", limit_price="91", key="m-1")
    engine.mark("AAPL", "90.5")
    assert engine.order(order_id).status is OrderStatus.FILLED
    result = verify_chain(raw(store))  # the plain chain and every derived row
    assert result.ok, result.problems
    assert result.checked > 0


def _mark(price: str) -> Any:
    from datetime import UTC, datetime

    from ordergate.domain.market import Mark

    return Mark.parse("AAPL", {"last": price}, datetime(2030, 1, 1, tzinfo=UTC))


def test_a_replace_never_received_is_refused_and_a_free_code_frees_its_key(
    store: SqliteStore, paper: PaperBroker, clock: SimulatedClock
) -> None:
    """The circuit is open: nothing reached the broker, so the replace is refused with
    that code, and (as for an intent) the same key may be sent again once it closes."""
    from ordergate.domain.errors import OrderGateError

    class Breaker:
        open = False

        def call(self, operation: str, fn: Any) -> Any:
            if self.open and operation == "modify":
                raise OrderGateError("the circuit is open", code=ErrorCode.E_EXEC_CIRCUIT_OPEN)
            return fn()

    breaker = Breaker()
    engine = ExecutionEngine(store, paper, clock=clock, call_policy=breaker)
    order_id = resting(engine)
    breaker.open = True
    refused = engine.modify(order_id, qty="12", key="m-1")
    assert refused.extra["replace"]["state"] == "rejected"
    assert engine.order(order_id).error_code == ErrorCode.E_EXEC_CIRCUIT_OPEN.name
    assert engine.order(order_id).qty == D("10")
    breaker.open = False
    again = engine.modify(order_id, qty="12", key="m-1")
    assert not again.replayed
    assert again.extra["replace"]["state"] == "replaced"
    assert engine.order(order_id).qty == D("12")
    assert engine.modify(order_id, qty="12", key="m-1").replayed
    with pytest.raises(InvalidIntent):
        engine.modify(order_id, qty="13", key="has space")


def test_a_modify_sees_a_kill_switch_another_process_set(
    store: SqliteStore, paper: PaperBroker, clock: SimulatedClock
) -> None:
    """The modify's gates go through the risk desk, which re-reads the switches when
    they are stale (as a submit's do), not through its chain on what it last read."""
    config = RiskConfig.from_mapping({"limits": {"default": {"tick_size": "0.01"}}})
    day = lambda when: when.date().isoformat()  # noqa: E731
    desk = RiskDesk(store, clock, config, trading_day=day, refresh_seconds=0)
    engine = ExecutionEngine(store, paper, clock=clock, gates=desk)
    order_id = resting(engine)
    other = RiskDesk(store, clock, config, trading_day=day)  # another process's desk
    other.board.set("GLOBAL", reason="halt", actor="ops")
    with pytest.raises(OrderNotModifiable) as info:
        engine.modify(order_id, qty="20")
    assert info.value.code is ErrorCode.E_RISK_KILL_SWITCH
    assert engine.order(order_id).replace_no == 0
