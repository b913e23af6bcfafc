"""Reconciliation against the exchange (seed 004 scenario 5 and every status)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from decimal import Decimal

import pytest

from ordergate.brokers.base import OrderRequest
from ordergate.brokers.exchange import ExchangeBroker
from ordergate.domain.enums import OrderType, Side, TimeInForce
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.reconcile import ReconcileStatus, reconcile
from ordergate.engine.reconcile_log import reconcile_log_for
from ordergate.exchange.server import ExchangeServer
from ordergate.store.sqlite import SqliteStore
from tests.exchange.conftest import buy


@pytest.fixture
def broker(exchange: ExchangeServer) -> ExchangeBroker:
    """No stream: a report arriving on another thread would race the comparisons."""
    adapter = ExchangeBroker(exchange.url, timeout=1.0, stream=False)
    adapter.mark("AAPL", "100")
    return adapter


MANUAL = OrderRequest(
    client_order_id="manual-1",
    account_id="default",
    symbol="AAPL",
    side=Side.SELL,
    qty=Decimal(50),
    order_type=OrderType.MARKET,
    time_in_force=TimeInForce.DAY,
)


def test_matched(engine: ExecutionEngine) -> None:
    engine.submit(buy("k1", qty="100"))
    report = reconcile(engine)
    assert report.status is ReconcileStatus.MATCHED
    assert not report.requires_manual_resolution


def test_seed_004_scenario_5_position_size_mismatch_needs_a_person(
    engine: ExecutionEngine, broker: ExchangeBroker, store: SqliteStore
) -> None:
    engine.submit(buy("k1", qty="100"))
    broker.submit(MANUAL)  # someone traded the account behind the engine's back

    report = reconcile(engine)

    assert report.status is ReconcileStatus.MISMATCH
    assert report.requires_manual_resolution
    [mismatch] = report.mismatches
    assert "expected position 100, found 50" in mismatch.message
    assert engine.positions()[0].qty == 100  # no automatic correction
    rows = (
        sqlite3.connect(store.path)
        .execute("SELECT report_id, status, requires_manual_resolution FROM reconcile_reports")
        .fetchall()
    )
    assert rows == [(report.report_id, "MISMATCH", 1)]


def test_phantom_and_missing_positions(
    engine: ExecutionEngine, broker: ExchangeBroker, exchange: ExchangeServer, store: SqliteStore
) -> None:
    broker.mark("MSFT", "300")
    broker.submit(replace(MANUAL, symbol="MSFT", side=Side.BUY))
    report = reconcile(engine)
    assert report.status is ReconcileStatus.PHANTOM_POSITION

    engine.submit(buy("k1"))
    other = ExchangeBroker(exchange.url, stream=False, account_id="nobody")
    lonely = ExecutionEngine(store, other)
    report = reconcile(lonely, account_id="default")
    assert report.status is ReconcileStatus.MISSING_POSITION


def test_brackets_attached_match_and_a_missing_leg_is_reported(
    engine: ExecutionEngine, broker: ExchangeBroker
) -> None:
    parent = engine.submit(buy("k1", qty="10", sl_offset_pct="-0.02", tp_offset_pct="0.03"))
    assert reconcile(engine).status is ReconcileStatus.MATCHED  # the engine attached both

    cid = engine.order(parent.order_id).client_order_id
    tp = next(
        o
        for o in broker.fetch_open_orders()
        if o.raw.get("parent_client_order_id") == cid and o.raw["order_type"] == "LIMIT"
    )
    broker.cancel(tp.client_order_id)  # someone removed the take profit at the broker
    report = reconcile(engine)
    kinds = {m.kind for m in report.mismatches}
    assert ReconcileStatus.MISSING_SL_TP in kinds
    assert report.requires_manual_resolution
    assert any("TP missing at the broker (expected 103)" in m.message for m in report.mismatches)


@pytest.mark.postgres
def test_reports_persist_on_postgresql(broker: ExchangeBroker) -> None:
    from ordergate.store.postgres import PostgresStore
    from tests.store.pg import fresh_schema, server_url

    with fresh_schema(server_url()) as url:
        pg = PostgresStore(url, min_size=1, max_size=2)
        try:
            pg.migrate()
            engine = ExecutionEngine(pg, broker)
            engine.submit(buy("k1", qty="100"))
            broker.submit(MANUAL)
            report = reconcile(engine)
            assert report.status is ReconcileStatus.MISMATCH
            [saved] = reconcile_log_for(pg).latest()
            assert saved["report_id"] == report.report_id
            assert saved["requires_manual_resolution"] is True
        finally:
            pg.close()
