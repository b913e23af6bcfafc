"""The exchange adapter against a real exchange server: the port, and the boundary's
translation of every transport failure."""

from __future__ import annotations

import socket
from decimal import Decimal
from pathlib import Path

import pytest

from ordergate.brokers.base import OrderRequest
from ordergate.brokers.exchange import ExchangeBroker
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import BrokerRejected, BrokerTimeout, BrokerUnavailable
from ordergate.exchange.book import ExchangeBook
from ordergate.exchange.faults import FaultKnobs, RequestFaults
from ordergate.exchange.server import ExchangeServer


def req(cid: str, qty: str = "10", limit: str | None = None, side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        account_id="default",
        symbol="AAPL",
        side=side,
        qty=Decimal(qty),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        limit_price=Decimal(limit) if limit else None,
    )


def test_submit_dedupe_lookup_cancel_positions(broker: ExchangeBroker) -> None:
    filled = broker.submit(req("c1"))
    assert filled.status is OrderStatus.FILLED
    assert filled.avg_price == Decimal(100)
    assert broker.submit(req("c1")).broker_order_id == filled.broker_order_id
    assert broker.fetch_order("nope") is None
    resting = broker.submit(req("c2", limit="90"))
    assert resting.status is OrderStatus.ACCEPTED
    assert [o.client_order_id for o in broker.fetch_open_orders()] == ["c2"]
    assert broker.cancel("c2").status is OrderStatus.CANCELED
    with pytest.raises(BrokerRejected):
        broker.cancel("nope")
    [position] = broker.fetch_positions()
    assert (position.qty, position.avg_price) == (Decimal(10), Decimal(100))
    account = broker.fetch_account()
    assert account.cash == Decimal(1_000_000) - Decimal(1000) - filled.executions[0].commission


def test_a_mark_fills_a_resting_limit_and_the_stream_reports_it(broker: ExchangeBroker) -> None:
    seen: list[OrderStatus] = []
    broker.subscribe(lambda view: seen.append(view.status))
    broker.submit(req("c1", limit="95"))
    assert broker.mark("AAPL", "94") == 1
    assert broker.fetch_order("c1").status is OrderStatus.FILLED  # type: ignore[union-attr]
    _wait(lambda: OrderStatus.FILLED in seen)


def test_errors_are_translated_at_the_boundary(broker: ExchangeBroker) -> None:
    broker.inject("submit", "http_503")
    with pytest.raises(BrokerUnavailable):
        broker.submit(req("c1"))
    assert broker.fetch_order("c1") is None  # 503: nothing was done
    broker.inject("submit", "http_429")
    with pytest.raises(BrokerUnavailable):
        broker.submit(req("c1"))
    broker.inject("submit", "drop_reply")
    with pytest.raises(BrokerTimeout):
        broker.submit(req("c1"))
    assert broker.fetch_order("c1") is not None  # done, only the answer was lost
    broker.inject("submit", "latency_ms=1500")
    with pytest.raises(BrokerTimeout):
        broker.submit(req("c2"))
    broker.inject("submit", "reject")
    with pytest.raises(BrokerRejected):
        broker.submit(req("c3"))
    assert broker.fetch_order("c3").status is OrderStatus.REJECTED  # type: ignore[union-attr]


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    adapter = ExchangeBroker(f"http://127.0.0.1:{port}", timeout=0.5, stream=False)
    with pytest.raises(BrokerUnavailable):
        adapter.submit(req("c1"))


def test_without_dedupe_a_resend_opens_a_second_order(exchange: ExchangeServer) -> None:
    exchange.faults.set(FaultKnobs(dedupe=False))
    adapter = ExchangeBroker(exchange.url, stream=False, dedupes_client_order_id=False)
    adapter.mark("AAPL", "100")
    adapter.submit(req("c1"))
    adapter.submit(req("c1"))
    assert len(adapter.fetch_all_orders()) == 2


def test_the_book_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    book = ExchangeBook(path)
    from ordergate.domain.market import Mark

    book.mark(Mark.parse("AAPL", {"last": "100"}, _now()))
    book.submit(req("c1"), RequestFaults(fill_parts=2), dedupe=True)
    book.submit(req("c2", limit="50"), RequestFaults(), dedupe=True)
    book.close()
    again = ExchangeBook(path)
    assert again.lookup("c1")["status"] == "FILLED"  # type: ignore[index]
    assert len(again.lookup("c1")["executions"]) == 2  # type: ignore[index]
    assert [o["client_order_id"] for o in again.orders(open_only=True)] == ["c2"]
    assert again.last_seq == 2
    again.close()


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _wait(condition, timeout: float = 3.0) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
