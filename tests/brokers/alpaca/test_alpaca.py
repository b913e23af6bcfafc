"""What issue 23 asks of the Alpaca adapter beyond the contract suite, against the
fake Alpaca with the real alpaca-py: a 504 after acceptance ends with one order,
"must be unique" adopts, updates missed while the stream was down arrive after it
returns, the rate measured at the fake stays under the limit, numbers that a float
would change are refused before sending, and no credential or account number leaks."""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.requests import MarketOrderRequest

from ordergate.brokers.alpaca.adapter import AlpacaBroker
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import BrokerError, BrokerRejected, BrokerTimeout, ErrorCode
from ordergate.domain.wire import BrokerOrder, OrderRequest
from ordergate.engine.engine import ExecutionEngine, client_order_id_for
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.sqlite import SqliteStore
from tests.brokers.alpaca.conftest import KEY, SECRET
from tests.brokers.alpaca.fake import ACCOUNT_ID, ACCOUNT_NUMBER, FakeAlpaca
from tests.brokers.alpaca.harness import build


def _request(cid: str, qty: str = "10", *, limit: str | None = None) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        account_id=ACCOUNT_ID,
        symbol="AAPL",
        side=Side.BUY,
        qty=Decimal(qty),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        limit_price=None if limit is None else Decimal(limit),
    )


@pytest.fixture
def adapter(fake_alpaca: FakeAlpaca) -> AlpacaBroker:
    fake_alpaca.mark("AAPL", Decimal(100))
    broker = build(fake_alpaca)
    yield broker
    broker.close()


def _posts(fake: FakeAlpaca) -> int:
    return sum(1 for _, method, path in fake.requests if (method, path) == ("POST", "/v2/orders"))


def test_left_alone_the_sdk_turns_a_504_into_must_be_unique(fake_alpaca: FakeAlpaca) -> None:
    """The hazard the adapter exists to avoid, shown on the bare SDK (its 3 s retry)."""
    fake_alpaca.mark("AAPL", Decimal(100))
    bare = TradingClient(KEY, SECRET, url_override=fake_alpaca.url, raw_data=True)
    bare._retry_wait = 0  # keep the demonstration fast; the default is 3 s
    fake_alpaca.arm("504_after")
    order = MarketOrderRequest(
        symbol="AAPL",
        qty=1,
        side=OrderSide.BUY,
        time_in_force=AlpacaTif.DAY,
        client_order_id="og-bare",
    )
    with pytest.raises(Exception, match="must be unique"):
        bare.submit_order(order)
    assert len(fake_alpaca.orders_for("og-bare")) == 1


def test_a_504_after_acceptance_ends_with_one_order(
    fake_alpaca: FakeAlpaca, adapter: AlpacaBroker, tmp_path: Path
) -> None:
    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    engine = ExecutionEngine(store, adapter, retry=RetryPolicy(max_retries=2, base_delay=0.01))
    fake_alpaca.arm("504_after")
    engine.submit(
        {
            "idempotency_key": "k-504",
            "account_id": ACCOUNT_ID,
            "symbol": "AAPL",
            "side": "BUY",
            "qty": "3",
        }
    )
    cid = client_order_id_for(ACCOUNT_ID, "k-504")
    assert len(fake_alpaca.orders_for(cid)) == 1
    assert _posts(fake_alpaca) == 1, "no POST was retried: the look-up settled it"
    order = store.order_by_client_id(cid)
    assert order is not None
    assert order.status is OrderStatus.FILLED
    store.close()


def test_a_bracket_is_held_by_the_engine_its_legs_sent_plain(
    fake_alpaca: FakeAlpaca, adapter: AlpacaBroker, tmp_path: Path
) -> None:
    """Alpaca's working orders reserve their quantity and the adapter sends no order
    class: the engine holds the target armed with only the stop working, and sends the
    target once a mark reaches it and the stop's cancel is confirmed — never both."""
    import time

    from ordergate.domain.enums import OrderType

    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    engine = ExecutionEngine(store, adapter)
    engine.submit(
        {
            "idempotency_key": "k-br",
            "account_id": ACCOUNT_ID,
            "symbol": "AAPL",
            "side": "BUY",
            "qty": "10",
            "sl_offset_pct": "-0.02",
            "tp_offset_pct": "0.03",
        }
    )
    deadline = time.monotonic() + 5
    legs: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline and not legs:
        legs = {o["type"]: o for o in fake_alpaca.orders.values() if o["side"] == "sell"}
        time.sleep(0.05)
    assert set(legs) == {"stop"}, "only the stop works; the target is held by the engine"
    assert legs["stop"]["stop_price"] == "98"
    assert legs["stop"]["order_class"] == "", "a plain order: the engine holds the OCO"
    held = [o for o in engine.orders() if o.order_type is OrderType.LIMIT]
    assert [(o.status.value, o.reason) for o in held] == [("PENDING", "armed")]
    engine.mark("AAPL", "103.50")  # the target is reached: the stop goes first
    while time.monotonic() < deadline + 5:
        legs = {o["type"]: o for o in fake_alpaca.orders.values() if o["side"] == "sell"}
        if "limit" in legs:
            break
        time.sleep(0.05)
    adapter.close()  # its updates go to the engine: stop them before the store
    store.close()
    assert legs["limit"]["limit_price"] == "103"
    assert legs["stop"]["status"] in ("canceled", "pending_cancel")


def test_a_504_raises_unknown_and_the_look_up_finds_it(
    fake_alpaca: FakeAlpaca, adapter: AlpacaBroker
) -> None:
    fake_alpaca.arm("504_after")
    with pytest.raises(BrokerTimeout):
        adapter.submit(_request("og-504"))
    view = adapter.fetch_order("og-504")
    assert view is not None
    assert view.status is OrderStatus.FILLED


def test_a_429_is_not_taken_and_not_retried_by_the_sdk(
    fake_alpaca: FakeAlpaca, adapter: AlpacaBroker
) -> None:
    fake_alpaca.arm("429")
    started = time.monotonic()
    with pytest.raises(BrokerError) as info:
        adapter.submit(_request("og-429"))
    assert info.value.code is ErrorCode.E_EXEC_BROKER_UNAVAILABLE
    assert time.monotonic() - started < 2, "alpaca-py's 3 s retry is off"
    assert _posts(fake_alpaca) == 1
    assert fake_alpaca.orders_for("og-429") == []


def test_must_be_unique_adopts_the_existing_order(
    fake_alpaca: FakeAlpaca, adapter: AlpacaBroker
) -> None:
    fake_alpaca.arm("drop_reply")
    with pytest.raises(BrokerTimeout):
        adapter.submit(_request("og-lost"))
    again = adapter.submit(_request("og-lost"))  # answered 422 "must be unique"
    assert again.status is OrderStatus.FILLED
    assert len(fake_alpaca.orders_for("og-lost")) == 1
    [order] = fake_alpaca.orders_for("og-lost")
    assert again.broker_order_id == order["id"]


def test_updates_missed_while_the_stream_was_down_arrive_after_it_returns(
    fake_alpaca: FakeAlpaca, adapter: AlpacaBroker
) -> None:
    seen: list[BrokerOrder] = []
    adapter.subscribe(seen.append)
    adapter.submit(_request("og-missed", limit="50"))
    fake_alpaca.drop_stream()
    while adapter.stream_up:
        time.sleep(0.01)
    fake_alpaca.trade(fake_alpaca.by_cid["og-missed"])  # its events go nowhere
    sent = fake_alpaca.stream.sent
    fake_alpaca.restore_stream()
    deadline = time.monotonic() + 10
    while not any(
        v.client_order_id == "og-missed" and v.status is OrderStatus.FILLED for v in seen
    ):
        assert time.monotonic() < deadline, "the missed fill never arrived"
        time.sleep(0.02)
    assert fake_alpaca.stream.sent == sent, "the fake replayed nothing: the catch-up did it"
    [filled] = [v for v in seen if v.status is OrderStatus.FILLED]
    assert filled.filled_qty == Decimal(10)
    assert [e.last_qty for e in filled.executions] == [Decimal(10)]


def test_a_foreign_fill_made_while_the_stream_was_down_arrives_after_it_returns(
    fake_alpaca: FakeAlpaca, adapter: AlpacaBroker
) -> None:
    """An order we never knew (placed on Alpaca's dashboard) is found through the FILL
    activities, not through our list of working orders."""
    seen: list[BrokerOrder] = []
    adapter.subscribe(seen.append)
    fake_alpaca.drop_stream()
    while adapter.stream_up:
        time.sleep(0.01)
    cid = fake_alpaca.originate("buy", Decimal(4), "AAPL")
    fake_alpaca.restore_stream()
    deadline = time.monotonic() + 10
    while not any(v.client_order_id == cid and v.status is OrderStatus.FILLED for v in seen):
        assert time.monotonic() < deadline, "the foreign fill never arrived"
        time.sleep(0.02)


def test_the_stream_counts_as_up_only_once_alpaca_confirms_the_subscription(
    fake_alpaca: FakeAlpaca, adapter: AlpacaBroker
) -> None:
    """Between the socket and Alpaca's ``listening`` nothing flows: a change made in
    that gap must not fall between the catch-up and the stream."""
    fake_alpaca.stream.listen_delay_s = 1.0
    adapter.submit(_request("og-gap", limit="50"))
    seen: list[BrokerOrder] = []
    adapter.subscribe(seen.append)
    time.sleep(0.3)  # any catch-up is done by now
    fake_alpaca.trade(fake_alpaca.by_cid["og-gap"])
    deadline = time.monotonic() + 5
    while not any(v.status is OrderStatus.FILLED for v in seen):
        assert time.monotonic() < deadline, "the fill made right after subscribe was lost"
        time.sleep(0.02)


def test_the_rate_at_the_fake_never_exceeds_the_limit(fake_alpaca: FakeAlpaca) -> None:
    fake_alpaca.limit = (8, 1.0)  # the fake answers 429 past 8 requests in any second
    broker = build(fake_alpaca, rate_limit=8, rate_window_s=1.0, stream=False)
    try:
        broker.submit(_request("og-rate", limit="50"))

        def poll() -> None:
            for _ in range(6):
                broker.fetch_order("og-rate")
                broker.fetch_open_orders()

        threads = [threading.Thread(target=poll) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        broker.close()
    assert len(fake_alpaca.requests) >= 37
    assert fake_alpaca.max_in_window(1.0) <= 8, fake_alpaca.max_in_window(1.0)
    assert fake_alpaca.throttled == 0


@pytest.mark.parametrize(
    ("qty", "limit"),
    [("0.1000000000000000055511151231257827", None), ("1", "100.000000000000000001")],
)
def test_a_number_a_float_would_change_is_refused_before_sending(
    fake_alpaca: FakeAlpaca, adapter: AlpacaBroker, qty: str, limit: str | None
) -> None:
    with pytest.raises(BrokerRejected) as info:
        adapter.submit(_request("og-float", qty, limit=limit))
    assert info.value.code is ErrorCode.E_INTENT_INVALID
    assert "float" in info.value.message
    assert _posts(fake_alpaca) == 0


def test_fractional_quantities_are_exact(fake_alpaca: FakeAlpaca, adapter: AlpacaBroker) -> None:
    view = adapter.submit(_request("og-frac", "0.125"))
    assert view.filled_qty == Decimal("0.125")
    assert all(isinstance(e.last_qty, Decimal) for e in view.executions)


def test_quotes_are_marks_in_decimal(fake_alpaca: FakeAlpaca, adapter: AlpacaBroker) -> None:
    mark = adapter.fetch_quote("AAPL")
    assert mark is not None
    assert (mark.bid, mark.ask, mark.last) == (Decimal("99.95"), Decimal("100.05"), Decimal(100))
    assert adapter.fetch_quote("NOPE") is None  # no quote: None, nothing guessed


def test_bad_credentials_are_refused_without_echoing_them(fake_alpaca: FakeAlpaca) -> None:
    broker = build(fake_alpaca, secret_key="wrong-secret-value", stream=False)
    try:
        with pytest.raises(BrokerRejected) as info:
            broker.fetch_account()
    finally:
        broker.close()
    assert "not authorized" in info.value.message
    assert "wrong-secret-value" not in str(info.value.to_dict())


def test_no_credential_or_account_number_in_logs_receipts_or_errors(
    fake_alpaca: FakeAlpaca,
    adapter: AlpacaBroker,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # the SDK's, requests' and urllib3's debug logs
    for name in ("alpaca", "urllib3", "websockets", "requests"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    seen: list[BrokerOrder] = []
    adapter.subscribe(seen.append)
    receipt = adapter.submit(_request("og-leak"))
    account = adapter.fetch_account()
    fake_alpaca.arm("reject")
    with pytest.raises(BrokerRejected) as info:
        adapter.submit(_request("og-leak-2"))
    fake_alpaca.drop_stream()
    fake_alpaca.restore_stream()
    time.sleep(0.5)
    words = [
        caplog.text,
        capsys.readouterr().out,
        repr(receipt),
        repr(seen),
        str(info.value.to_dict()),
    ]
    assert account.account_id == ACCOUNT_ID
    for secret in (KEY, SECRET, ACCOUNT_NUMBER):
        for text in words:
            assert secret not in text
    assert "urllib3" in caplog.text or "alpaca" in caplog.text, "debug logging was on"


def test_a_lost_connection_before_sending_is_unavailable() -> None:
    dead = AlpacaBroker(api_key=KEY, secret_key=SECRET, base_url="http://127.0.0.1:9", stream=False)
    try:
        with pytest.raises(BrokerError) as info:
            dead.submit(_request("og-dead"))
    finally:
        dead.close()
    assert info.value.code is ErrorCode.E_EXEC_BROKER_UNAVAILABLE
