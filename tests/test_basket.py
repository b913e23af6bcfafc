"""Baskets: the single path's promises, with two commits for the whole basket."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.brokers.base import BrokerOrder, OrderRequest
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import (
    BrokerTimeout,
    BrokerUnavailable,
    ErrorCode,
    IdempotencyConflict,
    InvalidIntent,
)
from ordergate.domain.intent import OrderIntent
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.ports import GateContext, Rejection
from ordergate.store.sqlite import SqliteStore
from tests.fakes import ScriptedBroker

D = Decimal


def intent(key: str, symbol: str = "AAPL", side: str = "buy", qty: str = "10") -> dict[str, Any]:
    return {"symbol": symbol, "side": side, "qty": qty, "idempotency_key": key}


class CountingStore(SqliteStore):
    """Counts the units of work that commit."""

    commits = 0

    def transaction(self):  # type: ignore[no-untyped-def]
        outer = super().transaction()
        store = self

        class _Counted:
            def __enter__(self) -> Any:
                return outer.__enter__()

            def __exit__(self, *exc: Any) -> Any:
                result = outer.__exit__(*exc)
                if exc[0] is None:
                    store.commits += 1
                return result

        return _Counted()


@pytest.fixture
def counting(tmp_path: Path) -> CountingStore:
    store = CountingStore(tmp_path / "basket.db")
    store.migrate()
    return store


def test_a_basket_fills_every_order_with_two_commits(
    counting: CountingStore, clock: SimulatedClock
) -> None:
    paper = PaperBroker(clock=clock)
    engine = ExecutionEngine(counting, paper, clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "150")
    engine.mark("MSFT", "300")
    before = counting.commits
    reports = engine.submit_many(
        [intent("b-1"), intent("b-2", "MSFT", "sell", "5"), intent("b-3", qty="1")]
    )
    assert counting.commits - before == 2
    assert [r.status for r in reports] == [OrderStatus.FILLED] * 3
    assert [r.filled_qty for r in reports] == [D(10), D(5), D(1)]
    assert all(len(r.fills) == 1 for r in reports)
    assert {p.symbol: p.qty for p in engine.positions()} == {"AAPL": D(11), "MSFT": D(-5)}
    again = engine.submit_many([intent("b-1"), intent("b-4", qty="2")])  # one replays
    assert again[0].replayed
    assert again[0].order_id == reports[0].order_id
    assert again[1].status is OrderStatus.FILLED
    assert len(paper.venue.orders) == 4


def test_one_invalid_intent_records_nothing_and_names_it(engine: ExecutionEngine) -> None:
    engine.mark("AAPL", "150")
    with pytest.raises(InvalidIntent) as caught:
        engine.submit_many([intent("ok-1"), {**intent("bad"), "qty": "-3"}])
    assert caught.value.field == "intents[1].qty"
    assert caught.value.message.startswith("intents[1].qty: must be greater than zero")
    assert engine.orders() == []


def test_a_key_twice_in_a_basket_is_one_order_or_a_conflict(engine: ExecutionEngine) -> None:
    engine.mark("AAPL", "150")
    first, second = engine.submit_many([intent("twice"), intent("twice")])
    assert first.order_id == second.order_id
    assert second.replayed
    assert len(engine.orders()) == 1
    with pytest.raises(IdempotencyConflict):
        engine.submit_many([intent("k-x"), intent("k-x", qty="11")])
    assert len(engine.orders()) == 1  # the failed basket left nothing


class _MaxPosition:
    """A gate: a position may not exceed 15 shares, counting working orders."""

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        exposure = context.position.qty + context.open_orders_qty + intent.signed_qty
        if exposure > 15:
            return Rejection(ErrorCode.E_RISK_MAX_QTY, {"exposure": exposure})
        return None


def test_gates_count_what_the_basket_itself_has_accepted(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = ScriptedBroker(clock)  # accepts and rests: the orders stay working
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds(), gates=_MaxPosition())
    reports = engine.submit_many([intent("g-1"), intent("g-2"), intent("g-3", qty="5")])
    assert [r.status for r in reports] == [
        OrderStatus.ACCEPTED,
        OrderStatus.REJECTED,  # 10 working + 10 > 15
        OrderStatus.ACCEPTED,  # 10 + 5 = 15
    ]
    assert reports[1].error_code == "E_RISK_MAX_QTY"
    assert len(broker.submits) == 2


def test_a_failed_call_goes_on_alone_and_is_never_sent_twice(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = ScriptedBroker(clock)
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    calls: dict[str, int] = {}

    def flaky(request: OrderRequest) -> BrokerOrder:
        calls[request.client_order_id] = calls.get(request.client_order_id, 0) + 1
        view = broker.ack(request, f"B{len(calls)}")
        if request.qty == D(7):  # taken, but the answer is lost
            broker.orders[request.client_order_id] = view
            raise BrokerTimeout("no answer in 2000 ms")
        if request.qty == D(9):
            raise BrokerUnavailable("connection refused")
        return view

    broker.on_submit = flaky
    reports = engine.submit_many([intent("f-1"), intent("f-2", qty="7"), intent("f-3", qty="9")])
    assert reports[0].status is OrderStatus.ACCEPTED
    assert reports[1].status is OrderStatus.ACCEPTED  # looked up and adopted, not resent
    assert reports[2].status is OrderStatus.FAILED  # never received: failed, retryable code
    assert sorted(calls.values()) == [1, 1, 1]


def test_a_stream_update_racing_one_receipt_leaves_every_fill_booked_once(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = ScriptedBroker(clock)
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())

    def fill_now(request: OrderRequest) -> BrokerOrder:
        ack = broker.ack(request, f"B-{request.client_order_id}")
        broker.orders[request.client_order_id] = ack
        filled = broker.fill(
            request.client_order_id, str(request.qty), "150", "X-" + request.client_order_id[-6:]
        )
        return filled  # the stream had it first: the receipt repeats it

    broker.on_submit = fill_now
    reports = engine.submit_many([intent("r-1"), intent("r-2", qty="3")])
    assert [r.status for r in reports] == [OrderStatus.FILLED, OrderStatus.FILLED]
    assert [len(r.fills) for r in reports] == [1, 1]
    assert engine.positions()[0].qty == D(13)
