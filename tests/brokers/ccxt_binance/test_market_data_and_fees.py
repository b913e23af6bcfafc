"""ccxt through the engine: its ticker is the market-data port (a stale mark is
refreshed from the exchange before the order is gated), and a fee is booked only in the
account's cash currency — a fee in the base asset or in BNB is recorded with its fill,
never mixed into cash or P&L."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ordergate.brokers.base import QuoteSource
from ordergate.brokers.ccxt.adapter import CcxtBroker
from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.sqlite import SqliteStore
from tests.brokers.ccxt_binance.fake import UID, FakeBinance
from tests.brokers.ccxt_binance.harness import build


@pytest.fixture
def adapter(fake_binance: FakeBinance) -> Iterator[CcxtBroker]:
    broker = build(fake_binance)
    yield broker
    broker.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    db = SqliteStore(tmp_path / "og.db")
    db.migrate()
    yield db
    db.close()


def _intent(key: str, qty: str = "0.5") -> dict[str, str]:
    return {
        "idempotency_key": key,
        "account_id": str(UID),
        "symbol": "BTC/USDT",
        "side": "BUY",
        "qty": qty,
        "time_in_force": "GTC",
    }


def test_the_ticker_is_the_market_data_port(fake_binance: FakeBinance, adapter: CcxtBroker) -> None:
    assert adapter.capabilities.market_data
    assert isinstance(adapter, QuoteSource)
    fake_binance.prices["BTCUSDT"] = Decimal("10036.59")
    mark = adapter.fetch_quote("BTC/USDT")
    assert mark is not None
    assert (mark.last, mark.bid, mark.ask) == (
        Decimal("10036.59"),
        Decimal("10036.58"),
        Decimal("10036.60"),
    )
    assert adapter.fetch_quote("ETH/USDT") is None  # no such market: nothing guessed


def test_a_submit_with_a_stale_mark_refreshes_it_from_the_exchange(
    fake_binance: FakeBinance, adapter: CcxtBroker, store: SqliteStore
) -> None:
    clock = SimulatedClock(datetime.now(UTC))
    engine = ExecutionEngine(store, adapter, clock=clock)
    assert engine.quotes is adapter
    engine.mark("BTC/USDT", "50")  # ours, then the market moves and our mark ages
    fake_binance.prices["BTCUSDT"] = Decimal(120)
    fresh = engine.submit(_intent("md-fresh", "0.1"))  # a fresh mark: not asked
    assert engine.order(fresh.order_id).arrival_price == 50
    clock.advance(timedelta(seconds=engine.config.mark_max_age_s + 1))
    report = engine.submit(_intent("md-stale", "0.1"))
    assert report.status is OrderStatus.FILLED, report.to_dict()
    assert engine.current_mark("BTC/USDT").last == 120  # type: ignore[union-attr]
    assert engine.order(report.order_id).arrival_price == 120
    adapter.close()


@pytest.mark.parametrize(
    ("asset", "booked"),
    [("USDT", True), ("BTC", False), ("BNB", False)],
)
def test_only_a_fee_in_the_cash_currency_is_booked_the_rest_is_recorded(
    fake_binance: FakeBinance, adapter: CcxtBroker, store: SqliteStore, asset: str, booked: bool
) -> None:
    fake_binance.fee_asset = asset
    fake_binance.prices["BTCUSDT"] = Decimal("10036.59")
    engine = ExecutionEngine(store, adapter)
    assert engine.account_currency == "USDT"
    report = engine.submit(_intent(f"fee-{asset}", "0.00123"))
    deadline = time.monotonic() + 5
    while engine.order(report.order_id).status is not OrderStatus.FILLED:
        assert time.monotonic() < deadline, engine.order(report.order_id)
        time.sleep(0.05)
    [execution] = adapter.fetch_order(engine.order(report.order_id).client_order_id).executions  # type: ignore[union-attr]
    fee = execution.commission
    assert fee > 0
    assert execution.fee_currency == asset
    [position] = [p for p in engine.positions() if p.symbol == "BTC/USDT"]
    fills = [e.payload["fill"] for e in store.events_for(report.order_id) if "fill" in e.payload]
    assert len(fills) == 1
    if booked:
        # booked to the minor unit of the cash currency, as every commission
        assert position.commission == Decimal("0.01")
        assert "foreign_fee" not in fills[0]
    else:
        assert position.commission == 0, "a fee in another asset never becomes cash"
        assert (fills[0]["foreign_fee"], fills[0]["foreign_fee_currency"]) == (str(fee), asset)
    adapter.close()
