"""Kite's websocket order updates: the real ``KiteTicker`` (Twisted / autobahn) against
a fake of Kite's websocket on 127.0.0.1. Updates are pushed as whole views (with the
order's trades); while the socket is down the adapter polls; after it reconnects the
order book is read at once; duplicates and stale (reordered) messages change nothing;
a new token reopens the socket; the token never reaches a log."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from ordergate.brokers.kite.adapter import KiteBroker
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.wire import BrokerOrder, OrderRequest
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.memory import MemoryStore
from tests.brokers.kite.fake_kite import FakeKite
from tests.brokers.kite.fake_ticker import FakeTicker
from tests.brokers.kite.kit import make_adapter

pytestmark = pytest.mark.slow

#: polls are this far apart: an update seen sooner came on the socket (or a catch-up)
SLOW_POLL_S = 60.0


class Views:
    """What the adapter pushed, by client order id."""

    def __init__(self) -> None:
        self.seen: list[BrokerOrder] = []
        self.lock = threading.Lock()

    def __call__(self, view: BrokerOrder) -> None:
        with self.lock:
            self.seen.append(view)

    def of(self, cid: str) -> list[BrokerOrder]:
        with self.lock:
            return [v for v in self.seen if v.client_order_id == cid]


def _wait(what: Callable[[], object], timeout: float = 10.0, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, message or "timed out"
        time.sleep(0.02)


def _socket_adapter(
    fake: FakeKite, ticker: FakeTicker, *, poll_s: float = SLOW_POLL_S, **kw: object
) -> KiteBroker:
    return make_adapter(
        fake,
        websocket=True,
        ws_root=ticker.url,
        poll_interval_s=poll_s,
        ws_poll_interval_s=SLOW_POLL_S,
        **kw,
    )


def _book_reads(fake: FakeKite) -> int:
    return sum(1 for method, path, _ in fake.requests if (method, path) == ("GET", "/orders"))


def _limit(cid: str, qty: int = 4) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        account_id="ZX1234",
        symbol="INFY",
        side=Side.BUY,
        qty=Decimal(qty),
        order_type=OrderType.LIMIT,
        limit_price=Decimal(1400),  # below the market (1500): it rests
        time_in_force=TimeInForce.DAY,
    )


@pytest.fixture
def subscribed(fake: FakeKite, ticker: FakeTicker) -> Iterator[tuple[KiteBroker, Views]]:
    adapter = _socket_adapter(fake, ticker)
    views = Views()
    adapter.subscribe(views)
    _wait(lambda: adapter.socket_up, message="the socket never came up")
    yield adapter, views
    adapter.close()


def test_an_order_update_arrives_on_the_socket_as_a_whole_view(
    fake: FakeKite, ticker: FakeTicker, subscribed: tuple[KiteBroker, Views]
) -> None:
    adapter, views = subscribed
    cid = "og" + "c1" * 12
    receipt = adapter.submit(_limit(cid))
    _wait(lambda: ticker.connections == 1 and ticker.sent > 0)
    reads = _book_reads(fake)
    fake.trade(receipt.broker_order_id, Decimal(1400))
    _wait(lambda: any(v.status is OrderStatus.FILLED for v in views.of(cid)))
    [filled] = [v for v in views.of(cid) if v.status is OrderStatus.FILLED]
    [trade] = [t for t in fake.trades if t["order_id"] == receipt.broker_order_id]
    assert [e.exec_id for e in filled.executions] == [trade["trade_id"]]
    assert (filled.filled_qty, filled.avg_price) == (Decimal(4), Decimal(1400))
    assert _book_reads(fake) == reads, "pushed by the socket, not found by a poll"


def test_the_engine_books_a_fill_pushed_by_the_socket(fake: FakeKite, ticker: FakeTicker) -> None:
    adapter = _socket_adapter(fake, ticker)
    engine = ExecutionEngine(MemoryStore(), adapter)
    _wait(lambda: adapter.socket_up)
    report = engine.submit(
        {
            "idempotency_key": "ws-1",
            "symbol": "INFY",
            "side": "BUY",
            "qty": "3",
            "order_type": "LIMIT",
            "limit_price": "1400",
        }
    )
    assert report.status is OrderStatus.ACCEPTED
    order = engine.order(report.order_id)
    fake.trade(str(order.broker_order_id), Decimal(1400))
    _wait(lambda: engine.order(report.order_id).status is OrderStatus.FILLED)
    assert engine.order(report.order_id).filled_qty == 3
    adapter.close()


def test_while_the_socket_is_down_the_adapter_polls(fake: FakeKite, ticker: FakeTicker) -> None:
    adapter = _socket_adapter(fake, ticker, poll_s=0.2)
    views = Views()
    adapter.subscribe(views)
    _wait(lambda: adapter.socket_up)
    cid = "og" + "c2" * 12
    receipt = adapter.submit(_limit(cid))
    ticker.cut()
    _wait(lambda: not adapter.socket_up, message="the cut was never noticed")
    fake.trade(receipt.broker_order_id, Decimal(1400))
    _wait(lambda: any(v.status is OrderStatus.FILLED for v in views.of(cid)))
    assert ticker.refused > 0 or not adapter.socket_up  # it tries; the fake refuses
    adapter.close()


def test_after_a_reconnect_the_book_is_read_at_once(
    fake: FakeKite, ticker: FakeTicker, subscribed: tuple[KiteBroker, Views]
) -> None:
    adapter, views = subscribed
    cid = "og" + "c3" * 12
    receipt = adapter.submit(_limit(cid))
    ticker.cut()
    _wait(lambda: not adapter.socket_up)
    time.sleep(0.3)  # the poll the cut wakes has read the book
    fake.trade(receipt.broker_order_id, Decimal(1400))  # told to no one: no socket is up
    time.sleep(0.5)
    assert not any(v.status is OrderStatus.FILLED for v in views.of(cid))
    reads = _book_reads(fake)
    ticker.restore()
    _wait(lambda: adapter.socket_up, timeout=15, message="never reconnected")
    _wait(lambda: any(v.status is OrderStatus.FILLED for v in views.of(cid)))
    assert _book_reads(fake) > reads, "caught up by reading the book"
    assert ticker.connections == 2


def test_duplicate_and_reordered_updates_change_nothing(
    fake: FakeKite, ticker: FakeTicker, subscribed: tuple[KiteBroker, Views]
) -> None:
    adapter, views = subscribed
    fake.part_gap_s = 0.05
    ticker.duplicate = True
    cid = "og" + "c4" * 12
    receipt = adapter.submit(_limit(cid, qty=6))
    _wait(lambda: views.of(cid))
    ticker.hold()
    fake.arm_parts(3)
    fake.orders[receipt.broker_order_id].parts = 3
    fake.trade(receipt.broker_order_id, Decimal(1400))
    _wait(lambda: fake.orders[receipt.broker_order_id].row["status"] == "COMPLETE")
    ticker.release(reverse=True)  # the last state first, then the older ones
    _wait(lambda: any(v.status is OrderStatus.FILLED for v in views.of(cid)))
    time.sleep(0.5)  # let the older (and the twice-sent) messages arrive
    states = [(v.status, v.filled_qty) for v in views.of(cid)]
    assert states[-1] == (OrderStatus.FILLED, Decimal(6)), states
    after = states[states.index((OrderStatus.FILLED, Decimal(6))) :]
    assert after == [(OrderStatus.FILLED, Decimal(6))], "nothing older pushed after the fill"
    assert len(states) == len(set(states)), "each state pushed once"


def test_a_new_token_reopens_the_socket_and_no_token_reaches_a_log(
    fake: FakeKite, ticker: FakeTicker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    old = next(iter(fake.tokens))
    adapter = _socket_adapter(fake, ticker, poll_s=0.2)
    views = Views()
    adapter.subscribe(views)
    _wait(lambda: adapter.socket_up)
    fake.expire_token()
    ticker.cut()  # Kite drops the session's socket; handshakes with the old token: 403
    ticker.restore()
    _wait(lambda: adapter.session.expired, message="the poll never saw the dead token")
    fresh = "freshtoken0002"
    fake.issue_token(fresh)
    adapter.install_token(fresh)
    _wait(lambda: adapter.socket_up, timeout=15, message="the new token did not reopen it")
    assert ticker.connections == 2
    cid = "og" + "c5" * 12
    receipt = adapter.submit(_limit(cid))
    fake.trade(receipt.broker_order_id, Decimal(1400))
    _wait(lambda: any(v.status is OrderStatus.FILLED for v in views.of(cid)))
    adapter.close()
    ours = [r for r in caplog.records if not r.name.startswith("websockets")]  # not the fake's
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in ours)
    assert "kiteconnect.ticker" in text  # the SDK's socket log was on, and is clean
    for secret in (old, fresh, fake.api_secret):
        assert secret not in text


def test_a_refused_handshake_leaves_polling_in_charge(fake: FakeKite, ticker: FakeTicker) -> None:
    adapter = _socket_adapter(fake, ticker, poll_s=0.2, api_key="someoneelse1")
    fake.api_key = "someoneelse1"  # REST takes it; the socket's fake still wants the old key
    views = Views()
    adapter.subscribe(views)
    cid = "og" + "c6" * 12
    receipt = adapter.submit(_limit(cid))
    fake.trade(receipt.broker_order_id, Decimal(1400))
    _wait(lambda: any(v.status is OrderStatus.FILLED for v in views.of(cid)))
    assert not adapter.socket_up
    assert ticker.refused > 0
    assert ticker.connections == 0
    adapter.close()
