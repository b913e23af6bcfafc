"""Retention: old final orders go, open ones stay, and the chain still verifies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ordergate.clock import SimulatedClock
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.audit import verify_chain
from ordergate.obs.retention import ChainBroken, RetentionPolicy, purge
from ordergate.store.base import EventRecord
from ordergate.store.sqlite import SqliteStore
from tests.obs.chainkit import fill_orders, raw, resting_order, tamperable

YEAR = RetentionPolicy()  # 365 days of orders, 30 of receipts


def _count(store: SqliteStore, table: str) -> int:
    return int(raw(store).execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_purges_old_final_orders_and_anchors_the_cut(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    old = fill_orders(engine, "old", 3)
    clock.advance(timedelta(days=400))
    new = fill_orders(engine, "new", 2)
    conn = raw(store)
    result = purge(conn, YEAR, clock.now())
    assert (result.orders, result.fills, result.intents) == (3, 3, 3)
    assert result.anchor_seq is not None
    assert all(store.get_order(o) is None for o in old)
    assert all(store.get_order(o) is not None for o in new)
    check = verify_chain(conn)
    assert check.ok
    assert check.anchor_seq == result.anchor_seq
    assert _count(store, "audit_pruned") == 0  # all folded into the anchor
    # the chain goes on from the anchor
    fill_orders(engine, "later", 2)
    assert verify_chain(raw(store)).ok


def test_never_touches_open_orders_however_old(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    resting = resting_order(engine, "rest")
    old = fill_orders(engine, "old", 2)
    clock.advance(timedelta(days=800))
    result = purge(raw(store), YEAR, clock.now())
    assert result.orders == 2
    kept = store.get_order(resting)
    assert kept is not None
    assert kept.status.is_open
    assert len(store.events_for(resting)) >= 3
    assert all(store.get_order(o) is None for o in old)
    # the purged events sit after the open order's: they stay as stubs, the chain holds
    assert _count(store, "audit_pruned") > 0
    assert verify_chain(raw(store)).ok
    engine.cancel(resting)
    assert verify_chain(raw(store)).ok


def test_purging_the_newest_events_keeps_seq_moving_forward(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    fill_orders(engine, "old", 2)
    last = raw(store).execute("SELECT MAX(seq) FROM order_events").fetchone()[0]
    clock.advance(timedelta(days=400))
    purge(raw(store), YEAR, clock.now())
    assert _count(store, "order_events") == 0
    fill_orders(engine, "new", 1)
    first_new = raw(store).execute("SELECT MIN(seq) FROM order_events").fetchone()[0]
    assert first_new == last + 1
    assert verify_chain(raw(store)).ok


def test_dry_run_counts_and_removes_nothing(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    fill_orders(engine, "old", 2)
    events = _count(store, "order_events")
    clock.advance(timedelta(days=400))
    result = purge(raw(store), YEAR, clock.now(), dry_run=True)
    assert result.orders == 2
    assert result.dry_run
    assert _count(store, "order_events") == events
    assert _count(store, "orders") == 2


def _ops_messages(store: SqliteStore, clock: SimulatedClock, count: int) -> None:
    """Operational messages with no order (broker notices, marks) in the event log."""
    with store.transaction() as tx:
        tx.record_events(
            [
                EventRecord(None, "ops.broker.notice", None, None, f'{{"n":{i}}}', clock.now())
                for i in range(count)
            ]
        )


def test_raw_messages_go_after_30_days_once_relayed(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    _ops_messages(store, clock, 4)
    fill_orders(engine, "a", 2)
    events = _count(store, "order_events")
    clock.advance(timedelta(days=31))
    store.set_outbox_cursor("nats", 3)  # a relay has passed the first three messages
    result = purge(raw(store), YEAR, clock.now())
    assert result.orders == 0
    assert result.outbox == 3
    assert _count(store, "order_events") == events - 3
    assert verify_chain(raw(store)).ok
    store.set_outbox_cursor("nats", 10_000)
    assert purge(raw(store), YEAR, clock.now()).outbox == 1
    assert verify_chain(raw(store)).ok


def test_refuses_to_purge_a_broken_chain(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    fill_orders(engine, "old", 2)
    tamperable(raw(store)).execute("UPDATE order_events SET to_status = 'CANCELED' WHERE seq = 2")
    clock.advance(timedelta(days=400))
    with pytest.raises(ChainBroken, match="seq 2"):
        purge(raw(store), YEAR, clock.now())
    assert _count(store, "orders") == 2


def test_cli_purge_uses_configured_days(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    import json

    from typer.testing import CliRunner

    from ordergate.service.__main__ import app

    fill_orders(engine, "x", 1)
    runner = CliRunner()
    out = runner.invoke(app, ["purge", "--db", store.path, "--json", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["orders"] == 0  # made "now" (simulated 2026): kept


def test_raw_broker_receipts_go_after_30_days_orders_stay(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    order_ids = fill_orders(engine, "r", 1)
    with store.transaction() as tx:
        tx.add_receipt(order_ids[0], "cl", "exchange", '{"old":true}', clock.now())
    clock.advance(timedelta(days=31))
    with store.transaction() as tx:
        tx.add_receipt(order_ids[0], "cl", "exchange", '{"new":true}', clock.now())
    result = purge(raw(store), YEAR, clock.now())
    assert result.receipts == 1
    assert result.orders == 0
    assert store.receipts_for(order_ids[0]) == ['{"new":true}']
