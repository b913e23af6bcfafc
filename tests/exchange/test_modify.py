"""engine.modify against the simulated exchange (its HTTP protocol, in-place replace)."""

from __future__ import annotations

import time
from decimal import Decimal

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ErrorCode
from ordergate.engine.engine import ExecutionEngine
from ordergate.exchange.server import ExchangeServer
from ordergate.store.sqlite import SqliteStore
from tests.exchange.conftest import buy

D = Decimal


def resting(engine: ExecutionEngine, key: str = "r1") -> str:
    report = engine.submit(buy(key, order_type="LIMIT", limit_price="90", time_in_force="GTC"))
    assert report.status is OrderStatus.ACCEPTED, report
    return report.order_id


def settle(engine: ExecutionEngine, order_id: str, status: OrderStatus) -> None:
    deadline = time.monotonic() + 5
    while engine.order(order_id).status is not status and time.monotonic() < deadline:
        engine.sync_broker_state()
        time.sleep(0.02)
    assert engine.order(order_id).status is status


def test_modify_in_place_then_fill_on_the_new_terms(
    engine: ExecutionEngine, broker: ExchangeBroker
) -> None:
    order_id = resting(engine)
    report = engine.modify(order_id, qty="14", limit_price="95", key="m-1")
    assert report.extra["replace"]["state"] == "replaced"
    order = engine.order(order_id)
    assert (order.qty, order.limit_price) == (D("14"), D("95"))
    view = broker.fetch_order(order.client_order_id)
    assert view is not None
    assert (view.qty, view.limit_price) == (D("14"), D("95"))
    assert view.raw["replaces"] == [f"{order.client_order_id}.r1"]
    broker.mark("AAPL", "94.5")
    settle(engine, order_id, OrderStatus.FILLED)
    assert engine.order(order_id).filled_qty == D("14")


def quiet(exchange: ExchangeServer, store: SqliteStore) -> tuple[ExecutionEngine, ExchangeBroker]:
    """An engine the exchange pushes nothing to: it learns only from answers and look-ups."""
    broker = ExchangeBroker(exchange.url, timeout=1.0, stream=False)
    broker.mark("AAPL", "100")
    return ExecutionEngine(store, broker), broker


def test_a_lost_answer_stays_pending_and_the_same_modify_settles_it(
    exchange: ExchangeServer, store: SqliteStore
) -> None:
    engine, broker = quiet(exchange, store)
    order_id = resting(engine)
    broker.inject("modify", "drop_reply")
    # the reply is lost, but the replace was applied: the look-up after it shows it
    first = engine.modify(order_id, qty="12", key="m-1")
    assert first.extra["replace"]["state"] == "replaced"
    broker.inject("modify", "drop_reply")
    broker.inject("fetch_order", "http_503")  # and now the look-up fails too
    second = engine.modify(order_id, qty="13", key="m-2")
    assert second.extra["replace"]["state"] == "pending"
    assert engine.order(order_id).qty == D("12"), "unconfirmed: the terms stay"
    again = engine.modify(order_id, qty="13", key="m-2")  # the caller sends it again
    assert again.replayed
    assert again.extra["replace"]["state"] == "replaced"
    cid = engine.order(order_id).client_order_id
    view = broker.fetch_order(cid)
    assert view is not None
    assert view.raw["replaces"] == [f"{cid}.r1", f"{cid}.r2"], "each replace applied once"
    assert engine.order(order_id).qty == D("13")


def test_a_fill_first_makes_the_venue_refuse_a_replace_below_it(
    exchange: ExchangeServer, store: SqliteStore
) -> None:
    engine, broker = quiet(exchange, store)
    order_id = resting(engine)
    broker.mark("AAPL", "89")  # fills all 10 at the exchange; the engine has not heard
    report = engine.modify(order_id, qty="5", key="m-1")
    order = engine.order(order_id)
    assert report.extra["replace"]["state"] == "rejected"
    assert order.error_code == ErrorCode.E_EXEC_BROKER_REJECTED.name
    assert "too late" in order.error_message
    settle(engine, order_id, OrderStatus.FILLED)
    assert len(engine.fills(order_id)) == 1
    assert engine.order(order_id).qty == D("10")
