"""Trade busts (35=8 150=H) and corrections (150=G) from the QuickFIX acceptor, through
the adapter's journal, taken back by the engine; and the counterparty's own orders
adopted as the broker's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.domain.enums import OrderStatus
from ordergate.domain.fills import Amend
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.sqlite import SqliteStore
from ordergate.testing.broker_contract import assert_whole
from tests.brokers.fix.kit import ACCOUNT, FixRig, until

D = Decimal


@pytest.fixture
def engine(rig: FixRig, tmp_path: Path) -> Iterator[ExecutionEngine]:
    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    yield ExecutionEngine(store, rig.adapter)
    store.close()


def intent(key: str, qty: str = "10", limit: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"idempotency_key": key, "account_id": ACCOUNT, "symbol": "AAPL"}
    body |= {"side": "BUY", "qty": qty}
    if limit is not None:
        body |= {"order_type": "LIMIT", "limit_price": limit}
    return body


def venue_exec_ids(rig: FixRig, cid: str) -> list[str]:
    order = rig.counterparty.book.find(cid)
    assert order is not None
    return [f.exec_id for f in order.fills]


def position(engine: ExecutionEngine) -> Any:
    found = [p for p in engine.store.positions(ACCOUNT) if p.symbol == "AAPL"]
    return found[0] if found else None


def test_a_trade_cancel_unbooks_the_fill(rig: FixRig, engine: ExecutionEngine) -> None:
    rig.counterparty.faults.parts = 2
    rig.counterparty.faults.part_gap_s = 0
    report = engine.submit(intent("bust-1"))
    until(lambda: engine.store.fills_for(report.order_id).__len__() == 2, "two fills booked")
    first, second = venue_exec_ids(rig, report.client_order_id)
    assert position(engine).qty == D(10)

    rig.counterparty.faults.duplicate = True  # the 150=H goes out twice, the second PossDup
    rig.counterparty.bust(report.client_order_id, first)
    until(lambda: position(engine).qty == D(5), "the bust taken back")
    order = engine.store.get_order(report.order_id)
    assert order is not None
    assert order.filled_qty == D(5)
    assert order.status is OrderStatus.CANCELED  # a done order that lost a trade
    assert [f.exec_id.endswith(second) for f in engine.store.fills_for(report.order_id)] == [True]
    assert order.fees == D("0.35")  # the busted trade's commission went with it
    topics = [e.topic for e in engine.store.events_for(report.order_id)]
    assert topics.count("executions.busted") == 1

    # the journal's view of it applied again: nothing changes
    view = rig.adapter.fetch_order(report.client_order_id)
    assert view is not None
    assert_whole(view)  # the busted trade is listed, marked, and counts for nothing
    assert [e.amend for e in view.executions] == [Amend.BUST, Amend.NONE]
    engine.on_broker_update(view)
    topics = [e.topic for e in engine.store.events_for(report.order_id)]
    assert topics.count("executions.busted") == 1
    assert position(engine).qty == D(5)


def test_a_trade_correct_rebooks_the_figures(rig: FixRig, engine: ExecutionEngine) -> None:
    report = engine.submit(intent("corr-1"))
    until(lambda: position(engine) is not None, "the fill booked")
    [exec_id] = venue_exec_ids(rig, report.client_order_id)
    rig.counterparty.correct(report.client_order_id, exec_id, D(10), D("99.5"))
    until(lambda: position(engine).avg_price == D("99.5"), "the correction applied")
    order = engine.store.get_order(report.order_id)
    assert order is not None
    assert (order.status, order.filled_qty, order.avg_fill_price) == (
        OrderStatus.FILLED,
        D(10),
        D("99.5"),
    )
    [fill] = engine.store.fills_for(report.order_id)
    assert fill.last_px == D("99.5")
    topics = [e.topic for e in engine.store.events_for(report.order_id)]
    assert topics.count("executions.corrected") == 1


def test_the_counterpartys_own_order_is_adopted(rig: FixRig, engine: ExecutionEngine) -> None:
    rig.counterparty.originate("desk-77", ACCOUNT, "AAPL", "1", D(3))
    until(lambda: engine.store.order_by_client_id("desk-77") is not None, "adopted")
    until(lambda: position(engine) is not None and position(engine).qty == D(3), "booked")
    view = rig.adapter.fetch_order("desk-77")
    assert view is not None
    assert view.originated_by_broker


def test_a_bust_sent_while_the_engine_was_down_is_taken_back_after_its_restart(
    rig: FixRig, tmp_path: Path
) -> None:
    """The counterparty resends the 150=H at the next logon, which happens before the
    new engine subscribes: the adapter hands it to its first listener."""
    store = SqliteStore(tmp_path / "restart.db")
    store.migrate()
    engine = ExecutionEngine(store, rig.adapter)
    report = engine.submit(intent("down-bust"))
    until(lambda: bool(store.fills_for(report.order_id)), "the fill booked")
    [exec_id] = venue_exec_ids(rig, report.client_order_id)
    rig.adapter.close()  # the engine's process is gone, its session with it
    rig.counterparty.bust(report.client_order_id, exec_id)  # waits in the acceptor's store
    rig.adapter = rig.new_adapter()
    journal = rig.adapter.journal
    until(
        lambda: any(e.busted for e in journal.executions(report.client_order_id)),
        "the resent 150=H journaled before anyone listens",
    )
    until(rig.adapter.session.dispatch.empty, "the stream's pushes done, to nobody")
    time.sleep(0.5)  # the last one handed over
    ExecutionEngine(store, rig.adapter)  # the restarted engine subscribes
    until(lambda: not store.fills_for(report.order_id), "the bust taken back")
    [position] = [p for p in store.positions(ACCOUNT) if p.symbol == "AAPL"]
    assert position.qty == 0
    store.close()
