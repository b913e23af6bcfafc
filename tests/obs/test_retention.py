"""Retention: old final orders go, open ones stay, and the chain still verifies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ordergate.clock import SimulatedClock
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.retention import ChainBroken, RetentionPolicy
from ordergate.store.base import EventRecord
from ordergate.store.sqlite import SqliteStore
from tests.obs.chainkit import (
    KEY,
    fill_orders,
    purge_keyed,
    raw,
    resting_order,
    tamperable,
    verify,
)

YEAR = RetentionPolicy()  # 365 days of orders, 30 of receipts


def _count(store: SqliteStore, table: str) -> int:
    return int(raw(store).execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_purges_old_final_orders_and_anchors_the_cut(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    old = fill_orders(engine, "old", 3)
    clock.advance(timedelta(days=400))
    new = fill_orders(engine, "new", 2)
    result = purge_keyed(store, YEAR, clock.now())
    assert (result.orders, result.fills, result.intents) == (3, 3, 3)
    assert result.anchor_seq is not None
    assert all(store.get_order(o) is None for o in old)
    assert all(store.get_order(o) is not None for o in new)
    check = verify(store)
    assert check.ok
    assert check.anchor_seq == result.anchor_seq
    assert _count(store, "audit_pruned") == 0  # all folded into the anchor
    # the chain goes on from the anchor
    fill_orders(engine, "later", 2)
    assert verify(store).ok


def test_never_touches_open_orders_however_old(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    resting = resting_order(engine, "rest")
    old = fill_orders(engine, "old", 2)
    clock.advance(timedelta(days=800))
    result = purge_keyed(store, YEAR, clock.now())
    assert result.orders == 2
    kept = store.get_order(resting)
    assert kept is not None
    assert kept.status.is_open
    assert len(store.events_for(resting)) >= 3
    assert all(store.get_order(o) is None for o in old)
    # the purged events sit after the open order's: they stay as stubs, the chain holds
    assert _count(store, "audit_pruned") > 0
    assert verify(store).ok
    engine.cancel(resting)
    assert verify(store).ok


def test_purging_the_newest_events_keeps_seq_moving_forward(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    fill_orders(engine, "old", 2)
    last = raw(store).execute("SELECT MAX(seq) FROM order_events").fetchone()[0]
    clock.advance(timedelta(days=400))
    purge_keyed(store, YEAR, clock.now())
    topics = [t for (t,) in raw(store).execute("SELECT topic FROM order_events ORDER BY seq")]
    assert topics == ["audit.purged", "audit.anchored"]  # the purge, recorded in the chain
    fill_orders(engine, "new", 1)
    first_new = (
        raw(store)
        .execute("SELECT MIN(seq) FROM order_events WHERE order_id IS NOT NULL")
        .fetchone()[0]
    )
    assert first_new == last + 3
    assert verify(store).ok


def test_dry_run_counts_and_removes_nothing(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    fill_orders(engine, "old", 2)
    events = _count(store, "order_events")
    clock.advance(timedelta(days=400))
    result = purge_keyed(store, YEAR, clock.now(), dry_run=True)
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
    result = purge_keyed(store, YEAR, clock.now())
    assert result.orders == 0
    assert result.outbox == 3
    assert _count(store, "order_events") == events - 3 + 2  # + audit.purged, audit.anchored
    assert verify(store).ok
    store.set_outbox_cursor("nats", 10_000)
    assert purge_keyed(store, YEAR, clock.now()).outbox == 1
    assert verify(store).ok


def test_refuses_to_purge_a_broken_chain(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    fill_orders(engine, "old", 2)
    tamperable(raw(store)).execute("UPDATE order_events SET to_status = 'CANCELED' WHERE seq = 2")
    clock.advance(timedelta(days=400))
    with pytest.raises(ChainBroken, match="seq 2"):
        purge_keyed(store, YEAR, clock.now())
    assert _count(store, "orders") == 2


def test_cli_purge_uses_configured_days(
    engine: ExecutionEngine,
    store: SqliteStore,
    clock: SimulatedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    from typer.testing import CliRunner

    from ordergate.service.__main__ import app

    fill_orders(engine, "x", 1)
    monkeypatch.setenv("ORDERGATE_AUDIT_KEY", KEY.hex())
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
    result = purge_keyed(store, YEAR, clock.now())
    assert result.receipts == 1
    assert result.orders == 0
    assert store.receipts_for(order_ids[0]) == ['{"new":true}']


def test_a_keyed_purge_is_recorded_in_the_chain_and_positions_still_fold(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    import json

    resting = resting_order(engine, "rest")  # older than what goes: the stubs stay
    fill_orders(engine, "old", 3)
    clock.advance(timedelta(days=400))
    fill_orders(engine, "new", 2)
    result = purge_keyed(store, YEAR, clock.now())
    conn = raw(store)
    seq, payload = conn.execute(
        "SELECT seq, payload FROM order_events WHERE topic = 'audit.purged'"
    ).fetchone()
    assert seq == result.event_seq
    body = json.loads(payload)
    assert (body["orders"], body["events"], body["fills"]) == (3, 12, 3)
    assert [p[:3] for p in body["positions"]] == [["default", "AAPL", "5"]]
    stubs = conn.execute("SELECT COUNT(*), COUNT(mac) FROM audit_pruned").fetchone()
    assert stubs == (12, 12)  # every stub carries the key's MAC
    check = verify(store)
    assert check.ok, check.problems
    assert check.baseline is not None
    assert check.baseline[0] == seq
    # the old fills are gone; the AAPL position is the purge's, with the later fills on it
    fill_orders(engine, "later", 1)
    engine.cancel(resting)
    assert verify(store).ok
    # a real stub's MAC does not carry over to another event
    mac, stub_seq = conn.execute("SELECT mac, seq FROM audit_pruned LIMIT 1").fetchone()
    victim = conn.execute("SELECT seq FROM order_events WHERE order_id IS NOT NULL").fetchone()[0]
    conn.execute(
        "INSERT INTO audit_pruned (seq, order_id, prev_hash, hash, ts, mac) "
        "SELECT seq, order_id, prev_hash, hash, ts, ? FROM order_events WHERE seq = ?",
        (mac, victim),
    )
    conn.execute("DELETE FROM order_events WHERE seq = ?", (victim,))
    assert ("fake_prune", victim) in {(p.kind, p.seq) for p in verify(store).problems}
    assert stub_seq != victim


def test_the_anchor_carries_the_keys_mac_and_is_recorded(
    engine: ExecutionEngine, store: SqliteStore, clock: SimulatedClock
) -> None:
    import json

    from ordergate.obs.audit import anchor_mac

    fill_orders(engine, "old", 2)
    clock.advance(timedelta(days=400))
    result = purge_keyed(store, YEAR, clock.now())
    conn = raw(store)
    seq, digest, mac = conn.execute("SELECT seq, hash, mac FROM audit_anchors").fetchone()
    assert seq == result.anchor_seq
    assert mac == anchor_mac(KEY, seq, digest)
    (payload,) = conn.execute(
        "SELECT payload FROM order_events WHERE topic = 'audit.anchored'"
    ).fetchone()
    assert (json.loads(payload)["seq"], json.loads(payload)["hash"]) == (seq, digest)
    # moved forward by hand to hide what follows, the anchor loses its MAC's backing
    conn.execute("UPDATE audit_anchors SET seq = seq + 1")
    assert "forged_anchor" in {p.kind for p in verify(store).problems}


def test_shadow_marks_go_after_30_days_in_the_twins_database(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    """The marks shadow mode simulated against are raw market data: kept as long as
    receipts (30 days), not for ever."""
    from decimal import Decimal

    from ordergate.domain.market import Mark
    from ordergate.shadow.links import ShadowLinks

    links = ShadowLinks(str(store.path))
    try:
        links.add_mark(Mark(symbol="AAPL", ts=clock.now(), last=Decimal("100")))
        clock.advance(timedelta(days=31))
        links.add_mark(Mark(symbol="AAPL", ts=clock.now(), last=Decimal("101")))
        result = purge_keyed(store, YEAR, clock.now())
        assert result.shadow_marks == 1
        assert [m.last for m in links.marks("AAPL")] == [Decimal("101")]
        assert verify(store).ok
    finally:
        links.close()
