"""Alpaca's latest quote is the engine's market-data port: a submit whose mark is older
than ``mark_max_age_s`` refreshes it from Alpaca before the order is gated and priced."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ordergate.brokers.alpaca.adapter import AlpacaBroker
from ordergate.brokers.base import QuoteSource
from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.sqlite import SqliteStore
from tests.brokers.alpaca.fake import ACCOUNT_ID, FakeAlpaca
from tests.brokers.alpaca.harness import build


@pytest.fixture
def adapter(fake_alpaca: FakeAlpaca) -> Iterator[AlpacaBroker]:
    fake_alpaca.mark("AAPL", Decimal(100))
    broker = build(fake_alpaca)
    yield broker
    broker.close()


def _quotes_asked(fake: FakeAlpaca) -> int:
    return sum(1 for _, _, path in fake.requests if path == "/v2/stocks/quotes/latest")


def test_a_stale_mark_is_refreshed_from_alpaca_before_the_submit(
    fake_alpaca: FakeAlpaca, adapter: AlpacaBroker, tmp_path: Path
) -> None:
    assert adapter.capabilities.market_data
    assert isinstance(adapter, QuoteSource)
    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    clock = SimulatedClock(datetime.now(UTC))
    engine = ExecutionEngine(store, adapter, clock=clock)
    assert engine.quotes is adapter
    engine.mark("AAPL", "90")
    fake_alpaca.mark("AAPL", Decimal(110))
    intent = {"account_id": ACCOUNT_ID, "symbol": "AAPL", "side": "BUY", "qty": "1"}
    fresh = engine.submit({**intent, "idempotency_key": "q-fresh"})
    assert engine.order(fresh.order_id).arrival_price == 90
    assert _quotes_asked(fake_alpaca) == 0, "a fresh mark is not asked for"
    clock.advance(timedelta(seconds=engine.config.mark_max_age_s + 1))
    stale = engine.submit({**intent, "idempotency_key": "q-stale"})
    assert stale.status is not OrderStatus.REJECTED, stale.to_dict()
    assert _quotes_asked(fake_alpaca) == 1
    mark = engine.current_mark("AAPL")
    assert mark is not None
    assert (mark.bid, mark.ask, mark.last) == (Decimal("109.95"), Decimal("110.05"), Decimal(110))
    assert engine.order(stale.order_id).arrival_price == 110
    adapter.close()
    store.close()
