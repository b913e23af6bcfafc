"""What issue 23 asks of the ccxt adapter beyond the contract suite, with real ccxt
against the fake Binance: off-tick / off-lot orders refused with our code before any
request leaves, Binance's duplicate (-2010) adopted, -1007 unknown, fees in any asset
booked exactly with their currency, LIVE refused without an account identity, no
request leaves 127.0.0.1, no credential leaks."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest

from ordergate.brokers.ccxt.adapter import CcxtBroker
from ordergate.brokers.registry import adapter_secret_values, build_broker_from_registry
from ordergate.clock import SimulatedClock
from ordergate.config import CONFIG_ENV, load_settings
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import (
    BrokerError,
    BrokerRejected,
    BrokerTimeout,
    ConfigError,
    ErrorCode,
)
from ordergate.domain.wire import OrderRequest
from tests.brokers.ccxt_binance.conftest import KEY, SECRET
from tests.brokers.ccxt_binance.fake import UID, FakeBinance, binance_urls
from tests.brokers.ccxt_binance.harness import build
from tests.brokers.conftest import Install
from tests.brokers.loopback import LeftLoopback


def _request(cid: str, qty: str = "1", *, limit: str | None = None) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        account_id=str(UID),
        symbol="BTC/USDT",
        side=Side.BUY,
        qty=Decimal(qty),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        time_in_force=TimeInForce.GTC,
        limit_price=None if limit is None else Decimal(limit),
    )


@pytest.fixture
def adapter(fake_binance: FakeBinance) -> CcxtBroker:
    broker = build(fake_binance)
    yield broker
    broker.close()


@pytest.mark.parametrize(
    ("qty", "limit", "code"),
    [
        ("0.000015", None, ErrorCode.E_RISK_LOT_SIZE),  # lot 0.00001
        ("1", "50.005", ErrorCode.E_RISK_TICK_SIZE),  # tick 0.01
        ("0.01", "50.00", ErrorCode.E_RISK_MIN_QTY),  # notional 0.5 < 5
        ("0.1000000000000000055511151231257827", None, ErrorCode.E_RISK_LOT_SIZE),
    ],
)
def test_an_order_off_tick_or_lot_is_refused_before_any_request_leaves(
    fake_binance: FakeBinance, adapter: CcxtBroker, qty: str, limit: str | None, code: ErrorCode
) -> None:
    with pytest.raises(BrokerRejected) as info:
        adapter.submit(_request("og-off", qty, limit=limit))
    assert info.value.code is code, info.value
    assert fake_binance.posts() == 0


def test_instrument_limits_come_from_the_markets(adapter: CcxtBroker) -> None:
    spec = adapter.instrument_limits().spec("BTC/USDT")
    assert (spec.tick_size, spec.lot_size, spec.min_qty) == (
        Decimal("0.01"),
        Decimal("0.00001"),
        Decimal("0.00001"),
    )


def test_duplicate_order_sent_adopts_the_open_order(
    fake_binance: FakeBinance, adapter: CcxtBroker
) -> None:
    fake_binance.arm("drop_reply")
    with pytest.raises(BrokerTimeout):
        adapter.submit(_request("og-dup", limit="50"))
    again = adapter.submit(_request("og-dup", limit="50"))  # -2010 Duplicate order sent.
    assert len(fake_binance.orders_for("og-dup")) == 1
    assert again.broker_order_id == str(fake_binance.orders_for("og-dup")[0]["orderId"])
    assert again.status is OrderStatus.ACCEPTED


def test_a_bracket_is_held_by_the_engine_its_legs_sent_plain(
    fake_binance: FakeBinance, adapter: CcxtBroker, tmp_path: Path
) -> None:
    """Binance's open orders lock their quantity and no OCO is sent: the engine holds
    the target armed with only the stop working, and sends it once a mark reaches it and
    the stop's cancel is confirmed — one exit working at a time."""
    import time

    from ordergate.engine.engine import ExecutionEngine
    from ordergate.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    engine = ExecutionEngine(store, adapter)
    engine.submit(
        {
            "idempotency_key": "k-br",
            "account_id": str(UID),
            "symbol": "BTC/USDT",
            "side": "BUY",
            "qty": "0.5",
            "sl_offset_pct": "-0.02",
            "tp_offset_pct": "0.03",
            "time_in_force": "GTC",
        }
    )
    deadline = time.monotonic() + 10
    legs: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline and "STOP_LOSS" not in legs:
        legs = {o["type"]: o for o in fake_binance.orders.values() if o["side"] == "SELL"}
        time.sleep(0.05)
    assert set(legs) == {"STOP_LOSS"}, legs
    assert legs["STOP_LOSS"]["stopPrice"] == "98.00000000"
    view = adapter.fetch_order(legs["STOP_LOSS"]["clientOrderId"])
    assert view is not None
    assert (view.order_type, view.stop_price) == (OrderType.STOP, Decimal(98))
    held = [o for o in engine.orders() if o.order_type is OrderType.LIMIT]
    assert [(o.status.value, o.reason) for o in held] == [("PENDING", "armed")]
    engine.mark("BTC/USDT", "103.50")  # the target is reached: the stop goes first
    while time.monotonic() < deadline + 10 and "LIMIT" not in legs:
        legs = {o["type"]: o for o in fake_binance.orders.values() if o["side"] == "SELL"}
        time.sleep(0.05)
    adapter.close()  # its updates go to the engine: stop them before the store
    store.close()
    assert legs["LIMIT"]["price"] == "103.00000000"


def test_send_status_unknown_is_unknown_and_found(
    fake_binance: FakeBinance, adapter: CcxtBroker
) -> None:
    fake_binance.arm("-1007")
    with pytest.raises(BrokerTimeout):
        adapter.submit(_request("og-1007"))
    view = adapter.fetch_order("og-1007")
    assert view is not None
    assert view.status is OrderStatus.FILLED


def test_an_insufficient_balance_is_rejected_not_retried(
    fake_binance: FakeBinance, adapter: CcxtBroker
) -> None:
    fake_binance.arm("reject")
    with pytest.raises(BrokerRejected) as info:
        adapter.submit(_request("og-poor"))
    assert info.value.code is ErrorCode.E_EXEC_BROKER_REJECTED
    assert fake_binance.posts() == 1


@pytest.mark.parametrize(
    ("asset", "fee"),
    [
        ("USDT", "0.01234501"),  # quote: the account's cash currency
        ("BTC", "0.00000123"),  # base
        ("BNB", "0.00003086"),  # a third asset (BNB at 400)
    ],
)
def test_fractional_fills_and_fees_in_any_asset_are_exact(
    fake_binance: FakeBinance, adapter: CcxtBroker, asset: str, fee: str
) -> None:
    fake_binance.fee_asset = asset
    fake_binance.prices["BTCUSDT"] = Decimal("10036.59")
    before = fake_binance.balances[asset]
    view = adapter.submit(_request("og-fee", "0.00123"))
    assert view.status is OrderStatus.FILLED
    [execution] = view.executions
    assert (execution.last_qty, execution.last_px) == (Decimal("0.00123"), Decimal("10036.59"))
    assert (execution.commission, execution.fee_currency) == (Decimal(fee), asset)
    assert view.raw["fees"] == [
        {"exec_id": execution.exec_id, "cost": str(Decimal(fee).normalize()), "currency": asset}
    ]
    spent = before - fake_binance.balances[asset]
    if asset == "USDT":
        spent -= Decimal("0.00123") * Decimal("10036.59")
    elif asset == "BTC":
        spent += Decimal("0.00123")
    assert spent == Decimal(fee), "the fee booked is the fee charged, to the satoshi"


def test_our_queue_bounds_the_rate_and_ccxts_limiter_stays_on(fake_binance: FakeBinance) -> None:
    broker = build(fake_binance, rate_limit=5, rate_window_s=1.0)
    try:
        assert broker._ex.enableRateLimit
        for _ in range(12):
            broker.fetch_open_orders()
    finally:
        broker.close()
    assert len(fake_binance.requests) >= 13
    assert fake_binance.max_in_window(1.0) <= 5


def test_live_is_refused_where_the_exchange_reports_no_account(
    fake_binance: FakeBinance, install: Install, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("ORDERGATE_CCXT_API_KEY", KEY)
    monkeypatch.setenv("ORDERGATE_CCXT_SECRET", SECRET)
    monkeypatch.setenv("ORDERGATE_CCXT_SYMBOLS", '["BTC/USDT"]')
    monkeypatch.setenv("ORDERGATE_CCXT_URLS", json.dumps(binance_urls(fake_binance.url)))
    settings = load_settings(
        database_url="sqlite:///:memory:",
        exec_broker_adapter="ccxt",
        mode="LIVE",
        account_id=str(UID),
    )
    adapter = build_broker_from_registry(settings, SimulatedClock())  # the uid matches
    assert isinstance(adapter, CcxtBroker)
    adapter.close()
    assert set(adapter_secret_values(settings)) == {KEY, SECRET}
    fake_binance.report_uid = False
    with pytest.raises(ConfigError, match="no account identity"):
        build_broker_from_registry(settings, SimulatedClock())


def test_a_url_left_at_the_real_exchange_fails_the_test(
    fake_binance: FakeBinance, only_loopback: list[str]
) -> None:
    urls = binance_urls(fake_binance.url)
    del urls["api"]["public"]  # exchangeInfo would go to api.binance.com
    broker = build(fake_binance, urls=urls)
    try:
        with pytest.raises(BrokerError) as info:
            broker.submit(_request("og-out"))
    finally:
        broker.close()
    assert isinstance(info.value.__cause__, LeftLoopback) or only_loopback
    assert any("binance.com" in host for host in only_loopback), only_loopback
    only_loopback.clear()  # seen and refused: the guard works


def test_no_credential_in_logs_receipts_or_errors(
    fake_binance: FakeBinance, adapter: CcxtBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter._ex.verbose = False
    receipt = adapter.submit(_request("og-leak"))
    fake_binance.arm("reject")
    with pytest.raises(BrokerRejected) as info:
        adapter.submit(_request("og-leak-2"))
    bad = build(fake_binance, secret="not-the-secret")
    try:
        with pytest.raises(BrokerError) as denied:
            bad.fetch_account()
    finally:
        bad.close()
    assert "X-MBX-APIKEY" in caplog.text, "ccxt's debug log was on (it logs headers)"
    for text in (
        caplog.text,
        repr(receipt),
        str(info.value.to_dict()),
        str(denied.value.to_dict()),
    ):
        assert KEY not in text
        assert SECRET not in text
    ccxt_lines = [r.getMessage() for r in caplog.records if r.name.startswith("ccxt")]
    assert ccxt_lines
    assert not any(re.search(r"signature=[0-9a-f]{64}", line) for line in ccxt_lines)
