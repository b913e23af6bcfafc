"""Brokers that cannot change an order in place: the engine's cancel-then-submit
(``Modify.NONE``) and a broker's cancel-replace (``Modify.CANCEL_REPLACE``). The new
order counts only once the old one is confirmed canceled; never both working."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from ordergate.brokers.base import BrokerOrder
from ordergate.brokers.paper import PAPER_CAPABILITIES, PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.capabilities import Modify
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ErrorCode
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.recovery import recover
from ordergate.store.sqlite import SqliteStore
from tests.modify.fakes import CancelReplacePaper

D = Decimal
LIMIT = {
    "symbol": "AAPL",
    "side": "buy",
    "qty": "10",
    "order_type": "limit",
    "limit_price": "90",
    "idempotency_key": "k-1",
}


def open_at_venue(paper: PaperBroker) -> list[str]:
    return [o.request.client_order_id for o in paper.venue.open_orders()]


@pytest.fixture
def none_paper(clock: SimulatedClock) -> PaperBroker:
    broker = PaperBroker(clock=clock)
    broker.capabilities = replace(PAPER_CAPABILITIES, modify=Modify.NONE)
    return broker


def test_no_modify_cancels_confirms_then_submits_the_rest(
    store: SqliteStore, none_paper: PaperBroker, clock: SimulatedClock
) -> None:
    engine = ExecutionEngine(store, none_paper, clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "100")
    old_id = engine.submit(LIMIT).order_id
    report = engine.modify(old_id, qty="12", limit_price="91", key="m-1")
    old = engine.order(old_id)
    assert old.status is OrderStatus.CANCELED
    assert old.reason == "replace"
    assert old.pending_replace is None
    assert report.extra["replace"]["state"] == "replaced"
    new_id = report.extra["replace"]["replacement_order_id"]
    new = engine.order(new_id)
    assert new.client_order_id == f"{old.client_order_id}.r1"
    assert new.idempotency_key == "k-1.r1"
    assert (new.qty, new.limit_price, new.status) == (D("12"), D("91"), OrderStatus.ACCEPTED)
    assert open_at_venue(none_paper) == [new.client_order_id]
    engine.mark("AAPL", "90.5")
    assert engine.order(new_id).status is OrderStatus.FILLED
    assert [p.qty for p in engine.positions()] == [D("12")]


def test_no_modify_after_a_partial_fill_submits_only_what_is_left(
    store: SqliteStore, none_paper: PaperBroker, clock: SimulatedClock
) -> None:
    from ordergate.sim.matching import FillModel

    none_paper.venue.fill_model = FillModel(participation=D("0.5"))
    engine = ExecutionEngine(store, none_paper, clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "100")
    old_id = engine.submit(LIMIT).order_id
    engine.mark("AAPL", "89", volume="8")  # 4 of 10 filled
    report = engine.modify(old_id, qty="7", key="m-1")
    new = engine.order(report.extra["replace"]["replacement_order_id"])
    assert new.qty == D("3"), "the new total 7 less the 4 filled"
    assert engine.order(old_id).filled_qty == D("4")


def test_a_fill_that_ends_the_old_order_leaves_nothing_to_replace(
    store: SqliteStore, none_paper: PaperBroker, clock: SimulatedClock
) -> None:
    engine = ExecutionEngine(store, none_paper, clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "100")
    old_id = engine.submit(LIMIT).order_id
    original = none_paper.cancel

    def fill_first(client_order_id: str) -> BrokerOrder:
        none_paper.venue.on_event(_mark("89"))  # it fills before the cancel arrives
        none_paper.venue.drain_changes()
        return original(client_order_id)

    none_paper.cancel = fill_first  # type: ignore[method-assign]
    report = engine.modify(old_id, qty="12", key="m-1")
    old = engine.order(old_id)
    assert old.status is OrderStatus.FILLED
    assert old.pending_replace is None
    assert report.extra["replace"]["state"] == "rejected"
    assert old.error_code == ErrorCode.E_ORDER_MODIFY_INVALID.name
    assert len(engine.orders()) == 1, "no replacement was made"
    assert open_at_venue(none_paper) == []


def test_cancel_replace_counts_the_new_order_once_the_old_is_canceled(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = CancelReplacePaper(clock=clock)
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "100")
    old_id = engine.submit(LIMIT).order_id
    report = engine.modify(old_id, limit_price="92", key="m-1")
    old = engine.order(old_id)
    assert old.status is OrderStatus.CANCELED
    new = engine.order(report.extra["replace"]["replacement_order_id"])
    assert new.status is OrderStatus.ACCEPTED
    assert new.limit_price == D("92")
    assert new.broker_order_id == broker.venue.orders[new.client_order_id].broker_order_id
    assert open_at_venue(broker) == [new.client_order_id]


def test_recovery_hands_over_when_the_crash_came_after_the_cancel(
    store: SqliteStore, none_paper: PaperBroker, clock: SimulatedClock
) -> None:
    """The engine died after the broker canceled the old order and before it recorded
    the cancel: recovery sees the cancel and submits the replacement, once."""
    engine = ExecutionEngine(store, none_paper, clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "100")
    old_id = engine.submit(LIMIT).order_id
    original = none_paper.cancel

    class Died(BaseException):
        pass

    def cancel_then_die(client_order_id: str) -> BrokerOrder:
        original(client_order_id)
        raise Died

    none_paper.cancel = cancel_then_die  # type: ignore[method-assign]
    with pytest.raises(Died):
        engine.modify(old_id, qty="12", key="m-1")
    none_paper.cancel = original  # type: ignore[method-assign]
    assert engine.order(old_id).status is OrderStatus.PENDING_CANCEL
    fresh = ExecutionEngine(store, none_paper, clock=clock, ids=SequentialIds(start=100))
    result = recover(fresh)
    assert old_id in result.adopted
    old = fresh.order(old_id)
    assert old.status is OrderStatus.CANCELED
    assert old.pending_replace is None
    [new] = [o for o in fresh.orders() if o.order_id != old_id]
    assert new.qty == D("12")
    assert open_at_venue(none_paper) == [new.client_order_id]
    recover(fresh)
    assert len(fresh.orders()) == 2, "recovery again sends nothing more"


def _mark(price: str) -> Any:
    from datetime import UTC, datetime

    from ordergate.domain.market import Mark

    return Mark.parse("AAPL", {"last": price}, datetime(2030, 1, 1, tzinfo=UTC))


def test_a_refused_cancel_refuses_the_replace_and_the_order_works_on(
    store: SqliteStore, none_paper: PaperBroker, clock: SimulatedClock
) -> None:
    from ordergate.domain.errors import BrokerRejected

    engine = ExecutionEngine(store, none_paper, clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "100")
    old_id = engine.submit(LIMIT).order_id

    def refuse(client_order_id: str) -> BrokerOrder:
        raise BrokerRejected("cancel refused by the venue (test)")

    none_paper.cancel = refuse  # type: ignore[method-assign]
    report = engine.modify(old_id, qty="12", key="m-1")
    old = engine.order(old_id)
    assert old.status is OrderStatus.ACCEPTED
    assert old.pending_replace is None
    assert report.extra["replace"]["state"] == "rejected"
    assert "cancel refused" in old.error_message
    assert len(engine.orders()) == 1
    assert open_at_venue(none_paper) == [old.client_order_id]
