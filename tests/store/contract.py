"""The store contract: written once against the Store port, run on every backend.

A backend's test class subclasses :class:`StoreContract` and provides one fixture,
``store``: a fresh, migrated, empty store, closed afterwards. Nothing here knows which
backend it talks to.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import PersistenceError
from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.order import Order
from ordergate.domain.positions import Position
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.base import (
    BookedFill,
    DuplicateKey,
    EventRecord,
    OrderQuery,
    OutboxMessage,
    Store,
    StoredControl,
    StoredIntent,
    StoredKillSwitch,
)
from ordergate.store.leases import leases_for

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)


def intent(n: int, *, account: str = "acct", key: str | None = None) -> StoredIntent:
    return StoredIntent(
        intent_id=f"int-{n}",
        account_id=account,
        idempotency_key=key or f"key-{n}",
        payload_hash=f"hash-{n}",
        payload='{"symbol":"AAPL","qty":"1"}',
        received_at=T0 + timedelta(seconds=n),
        order_id=f"ord-{n}",
    )


def order(n: int, **changes: Any) -> Order:
    base = Order(
        order_id=f"ord-{n}",
        client_order_id=f"cl-{n}",
        idempotency_key=f"key-{n}",
        account_id="acct",
        strategy_id="s1",
        symbol="AAPL",
        side=Side.BUY,
        qty=Decimal(100),
        order_type=OrderType.LIMIT,
        limit_price=Decimal("150.25"),
        stop_price=None,
        time_in_force=TimeInForce.DAY,
        created_at=T0 + timedelta(seconds=n),
        updated_at=T0 + timedelta(seconds=n),
        arrival_price=Decimal("150.10"),
    )
    return replace(base, **changes)


def fill(order_id: str, exec_id: str, qty: str = "10", px: str = "150.25") -> Fill:
    return Fill(
        exec_id=exec_id,
        order_id=order_id,
        symbol="AAPL",
        side=Side.BUY,
        last_qty=Decimal(qty),
        last_px=Decimal(px),
        commission=Decimal("0.05"),
        ts=T0 + timedelta(minutes=1),
        liquidity="T",
    )


def event(
    order_id: str, topic: str, to_status: str | None = None, payload: str = "{}"
) -> EventRecord:
    return EventRecord(order_id, topic, None, to_status, payload, T0)


def seed(store: Store, *numbers: int, **changes: Any) -> list[Order]:
    """Insert intents and orders ``numbers`` in one unit of work."""
    orders = [order(n, **changes) for n in numbers]
    with store.transaction() as tx:
        for n, o in zip(numbers, orders, strict=True):
            tx.insert_intent(intent(n))
            tx.insert_order(o, f"int-{n}")
    return orders


def settled_outbox(store: Store, count: int, timeout_s: float = 5.0) -> list[OutboxMessage]:
    """The first ``count`` outbox messages, once readable.

    A backend may hold back committed messages while an older transaction (of any
    session) is still running, so that a cursor never passes over a late commit.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        messages = store.outbox_after(0, 1000)
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.02)


class StoreContract:
    """Every test a Store backend must pass."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        raise pytest.UsageError("a backend's test class provides the store fixture")

    # --------------------------------------------------------------- schema

    def test_migrate_twice_changes_nothing(self, store: Store) -> None:
        seed(store, 1)
        store.migrate()
        assert store.get_order("ord-1") == order(1)

    # -------------------------------------------------------------- intents

    def test_intent_found_by_account_and_key(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.insert_intent(intent(1))
        with store.transaction() as tx:
            found = tx.find_intent("acct", "key-1")
            assert tx.find_intent("other", "key-1") is None
            assert tx.find_intent("acct", "key-2") is None
        assert found == intent(1)

    def test_intent_key_is_unique_per_account(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.insert_intent(intent(1))
            tx.insert_intent(intent(2, account="other", key="key-1"))  # another account: fine
        with pytest.raises(DuplicateKey), store.transaction() as tx:
            tx.insert_intent(intent(3, key="key-1"))
        with store.transaction() as tx:
            assert tx.find_intent("acct", "key-1") == intent(1)

    def test_concurrent_inserts_of_one_key_make_one_intent(self, store: Store) -> None:
        outcomes: list[str] = []
        barrier = threading.Barrier(4)

        def insert(n: int) -> None:
            barrier.wait()
            try:
                with store.transaction() as tx:
                    tx.insert_intent(intent(n, key="same"))
                outcomes.append("ok")
            except DuplicateKey:
                outcomes.append("dup")

        threads = [threading.Thread(target=insert, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["dup", "dup", "dup", "ok"]

    # --------------------------------------------------------------- orders

    def test_order_round_trips_every_field(self, store: Store) -> None:
        stored = order(
            1,
            qty=Decimal("0.0000000001"),
            limit_price=Decimal("123456789012.1234567891"),
            stop_price=Decimal("99.5"),
            order_type=OrderType.STOP_LIMIT,
            avg_fill_price=Decimal("150.1234567890123456789012345"),
            fees=Decimal("0.0035"),
            broker_order_id="b-1",
            late=True,
            reason="why",
            error_code="E_X",
            error_message="msg",
            attempts=2,
            parent_order_id="ord-0",
            submitted_at=T0 + timedelta(microseconds=123456),
            version=3,
        )
        with store.transaction() as tx:
            tx.insert_intent(intent(1))
            tx.insert_order(stored, "int-1")
        got = store.get_order("ord-1")
        assert got == stored
        assert got is not None
        assert str(got.avg_fill_price) == "150.1234567890123456789012345"
        assert isinstance(got.qty, Decimal)
        assert store.order_by_client_id("cl-1") == stored
        assert store.get_order("nope") is None
        with store.transaction() as tx:
            assert tx.get_order("ord-1") == stored
            assert tx.order_by_client_id("cl-1") == stored
            assert tx.get_order("ord-9") is None

    def test_client_order_id_is_unique(self, store: Store) -> None:
        seed(store, 1)
        with pytest.raises(DuplicateKey), store.transaction() as tx:  # noqa: PT012
            tx.insert_intent(intent(2))
            tx.insert_order(order(2, client_order_id="cl-1"), "int-2")
        assert store.get_order("ord-2") is None

    def test_update_needs_the_next_version(self, store: Store) -> None:
        (o,) = seed(store, 1)
        o.status, o.version = OrderStatus.SUBMITTED, 1
        with store.transaction() as tx:
            tx.update_order(o, 0)
        stale = replace(o, status=OrderStatus.ACCEPTED, version=1)
        with pytest.raises(PersistenceError) as info, store.transaction() as tx:
            tx.update_order(stale, 0)
        assert not isinstance(info.value, DuplicateKey)
        got = store.get_order("ord-1")
        assert got is not None
        assert (got.status, got.version) == (OrderStatus.SUBMITTED, 1)

    def test_a_failed_unit_of_work_leaves_nothing(self, store: Store) -> None:
        with pytest.raises(RuntimeError), store.transaction() as tx:  # noqa: PT012
            tx.insert_intent(intent(1))
            tx.insert_order(order(1), "int-1")
            tx.record_events([event("ord-1", "orders.pending", "PENDING")])
            raise RuntimeError("crash mid-step")
        assert store.get_order("ord-1") is None
        assert store.outbox_after(0, 10) == []
        seed(store, 1)  # the key is free again
        assert store.get_order("ord-1") is not None

    def test_list_filters_and_pages_newest_first(self, store: Store) -> None:
        seed(store, 1, 2, 3)
        with store.transaction() as tx:
            for n, symbol in ((4, "MSFT"), (5, "MSFT")):
                tx.insert_intent(intent(n))
                tx.insert_order(order(n, symbol=symbol, strategy_id="s2"), f"int-{n}")
            tx.insert_intent(intent(6, account="other"))
            tx.insert_order(order(6, account_id="other"), "int-6")
        o2 = order(2, status=OrderStatus.SUBMITTED, version=1)
        with store.transaction() as tx:
            tx.update_order(o2, 0)

        def ids(**query: Any) -> list[str]:
            return [o.order_id for o in store.list_orders(OrderQuery(**query))]

        assert ids() == ["ord-6", "ord-5", "ord-4", "ord-3", "ord-2", "ord-1"]
        assert ids(limit=2) == ["ord-6", "ord-5"]
        assert ids(limit=2, offset=2) == ["ord-4", "ord-3"]
        assert ids(offset=10) == []
        assert ids(symbol="MSFT") == ["ord-5", "ord-4"]
        assert ids(strategy_id="s2", limit=1) == ["ord-5"]
        assert ids(account_id="other") == ["ord-6"]
        assert ids(status=["SUBMITTED"]) == ["ord-2"]
        assert ids(status=["SUBMITTED", "FILLED"], symbol="AAPL") == ["ord-2"]
        assert ids(status=["PENDING"], symbol="AAPL", account_id="acct") == ["ord-3", "ord-1"]

    def test_open_orders_are_the_unfinished_ones_oldest_first(self, store: Store) -> None:
        seed(store, 1, 2, 3)
        with store.transaction() as tx:
            tx.update_order(order(2, status=OrderStatus.REJECTED, version=1), 0)
            tx.update_order(order(3, status=OrderStatus.SUBMITTED, version=1), 0)
        assert [o.order_id for o in store.open_orders()] == ["ord-1", "ord-3"]

    def test_intent_payload_of_an_order(self, store: Store) -> None:
        seed(store, 1)
        assert store.intent_payload("ord-1") == '{"symbol":"AAPL","qty":"1"}'
        assert store.intent_payload("nope") is None

    # --------------------------------------------------------------- events

    def test_events_are_appended_in_order(self, store: Store) -> None:
        seed(store, 1, 2)
        with store.transaction() as tx:
            tx.record_events(
                [
                    event("ord-1", "orders.pending", "PENDING", '{"a":1}'),
                    event("ord-2", "orders.pending", "PENDING"),
                ]
            )
        with store.transaction() as tx:
            tx.record_events(
                [EventRecord("ord-1", "orders.submitted", "PENDING", "SUBMITTED", '{"a":2}', T0)]
            )
        events = store.events_for("ord-1")
        assert [(e.topic, e.from_status, e.to_status) for e in events] == [
            ("orders.pending", None, "PENDING"),
            ("orders.submitted", "PENDING", "SUBMITTED"),
        ]
        assert [e.payload for e in events] == [{"a": 1}, {"a": 2}]
        assert events[0].seq < events[1].seq
        assert events[0].ts == T0
        assert store.events_for("nope") == []

    # ---------------------------------------------------------------- fills

    def test_fills_are_unique_per_order_and_exec_id(self, store: Store) -> None:
        seed(store, 1, 2)
        with store.transaction() as tx:
            assert not tx.has_fill("ord-1", "x-1")
            tx.insert_fill(fill("ord-1", "x-1"), "acct", "s1", Decimal(0), "2024-03-01")
            tx.insert_fill(fill("ord-2", "x-1"), "acct", "s1", Decimal(0), "2024-03-01")
            assert tx.has_fill("ord-1", "x-1")
        with pytest.raises(DuplicateKey), store.transaction() as tx:
            tx.insert_fill(fill("ord-1", "x-1"), "acct", "s1", Decimal(0), "2024-03-01")
        assert store.fills_for("ord-1") == [fill("ord-1", "x-1")]

    def test_a_busted_fill_stays_booked_but_leaves_every_holding(self, store: Store) -> None:
        seed(store, 1)
        a, b = fill("ord-1", "x-1"), fill("ord-1", "x-2", "5", "151")
        with store.transaction() as tx:
            assert tx.booked_fill("ord-1", "x-1") is None
            tx.insert_fill(a, "acct", "s1", Decimal("1.5"), "2024-03-01")
            tx.insert_fill(b, "acct", "s1", Decimal(0), "2024-03-01")
        with store.transaction() as tx:
            booked = tx.booked_fill("ord-1", "x-1")
            assert booked == BookedFill(a, Decimal("1.5"), False, "")
            tx.amend_fill(a, None, Decimal("-2"), "bust-1")
            assert tx.position_fills("acct", "AAPL") == [b]
        with store.transaction() as tx:
            assert tx.has_fill("ord-1", "x-1")  # never booked again
            # kept for the record at its quantity and price; it carries no fee any more
            assert tx.booked_fill("ord-1", "x-1") == BookedFill(
                replace(a, commission=Decimal(0)), Decimal("-2"), True, "bust-1"
            )
            assert tx.position_fills("acct", "AAPL") == [b]
            assert tx.position_fills("other", "AAPL") == []
        assert store.fills_for("ord-1") == [b]
        [day] = store.daily_pnl()
        assert (day.realized_gross, day.commission) == (Decimal(-2), Decimal("0.05"))
        assert sum(f.commission for f in store.fills_since("2024-03-01")) == Decimal("0.05")

    def test_a_corrected_fill_takes_its_new_figures_and_rolls_back(self, store: Store) -> None:
        seed(store, 1)
        a = fill("ord-1", "x-1")
        with store.transaction() as tx:
            tx.insert_fill(a, "acct", "s1", Decimal(0), "2024-03-01")
        corrected = replace(a, last_qty=Decimal("9.5"), last_px=Decimal("150.125"))
        with pytest.raises(RuntimeError, match="fails"):
            _failing_step_with_amendment(store, a, corrected)
        assert store.fills_for("ord-1") == [a]
        with store.transaction() as tx:
            tx.amend_fill(a, corrected, Decimal("0.25"), "g-1")
        assert store.fills_for("ord-1") == [corrected]
        with store.transaction() as tx:
            assert tx.booked_fill("ord-1", "x-1") == BookedFill(
                corrected, Decimal("0.25"), False, "g-1"
            )
            assert tx.position_fills("acct", "AAPL") == [corrected]
        assert store.daily_pnl()[0].realized_gross == Decimal("0.25")

    def test_receipts_are_kept_in_order_and_roll_back(self, store: Store) -> None:
        seed(store, 1)
        with store.transaction() as tx:
            tx.add_receipt("ord-1", "cl-1", "paper", '{"n":1}', T0)
            tx.add_receipt("ord-1", "cl-1", "paper", '{"n":2}', T0)
        with pytest.raises(RuntimeError, match="fails"):
            _failing_step_with_receipt(store)
        assert store.receipts_for("ord-1") == ['{"n":1}', '{"n":2}']
        assert store.receipts_for("ord-2") == []

    def test_fills_keep_exact_decimals_in_order(self, store: Store) -> None:
        seed(store, 1)
        fills = [fill("ord-1", "x-1", "0.0000000001", "0.1"), fill("ord-1", "x-2", "33.3", "0.2")]
        with store.transaction() as tx:
            for f in fills:
                tx.insert_fill(f, "acct", "s1", Decimal("0.3"), "2024-03-01")
        assert store.fills_for("ord-1") == fills

    def test_daily_pnl_sums_per_day_and_strategy(self, store: Store) -> None:
        seed(store, 1, 2)
        with store.transaction() as tx:
            tx.insert_fill(fill("ord-1", "a"), "acct", "s1", Decimal("10.10"), "2024-03-01")
            tx.insert_fill(fill("ord-1", "b"), "acct", "s1", Decimal("0.01"), "2024-03-01")
            tx.insert_fill(fill("ord-1", "c"), "acct", "s1", Decimal("-3"), "2024-03-02")
            tx.insert_fill(fill("ord-2", "a"), "other", "s2", Decimal("1"), "2024-03-01")
        rows = store.daily_pnl()
        assert [(r.trading_day, r.strategy_id, r.fills) for r in rows] == [
            ("2024-03-01", "s1", 2),
            ("2024-03-01", "s2", 1),
            ("2024-03-02", "s1", 1),
        ]
        assert rows[0].realized_gross == Decimal("10.11")
        assert rows[0].commission == Decimal("0.10")
        assert rows[0].realized_pnl == Decimal("10.01")
        assert [r.strategy_id for r in store.daily_pnl("other")] == ["s2"]
        assert store.daily_pnl("nobody") == []

    # ------------------------------------------------------ positions, marks

    def test_positions_upsert(self, store: Store) -> None:
        with store.transaction() as tx:
            assert tx.get_position("acct", "AAPL") == Position(account_id="acct", symbol="AAPL")
            tx.save_position(
                Position(account_id="acct", symbol="AAPL", qty=Decimal(10), avg_price=Decimal(5)),
                T0,
            )
        changed = Position(
            account_id="acct",
            symbol="AAPL",
            qty=Decimal("-2.5"),
            avg_price=Decimal("5.123456789"),
            realized_gross=Decimal("0.01"),
            commission=Decimal("1.5"),
        )
        with store.transaction() as tx:
            tx.save_position(changed, T0)
            tx.save_position(Position(account_id="b", symbol="MSFT", qty=Decimal(1)), T0)
            assert tx.get_position("acct", "AAPL") == changed
        other = Position(account_id="b", symbol="MSFT", qty=Decimal(1))
        assert store.positions() == [changed, other]
        assert store.positions("acct") == [changed]
        assert store.positions("nobody") == []

    def test_marks_upsert(self, store: Store) -> None:
        first = Mark(symbol="AAPL", last=Decimal("150.00"), ts=T0)
        second = Mark(
            symbol="AAPL",
            last=Decimal("150.01"),
            bid=Decimal("150"),
            ask=Decimal("150.02"),
            volume=Decimal(100000),
            ts=T0 + timedelta(seconds=1),
        )
        with store.transaction() as tx:
            tx.save_mark(first)
        with store.transaction() as tx:
            tx.save_mark(second)
            tx.save_mark(Mark(symbol="MSFT", last=Decimal(1), ts=T0))
        marks = store.marks()
        assert sorted(marks) == ["AAPL", "MSFT"]
        assert marks["AAPL"] == second

    def test_a_mark_older_than_the_stored_one_changes_nothing(self, store: Store) -> None:
        """Bus marks carry the stream's sequence number (issue 24): a redelivered or late
        copy never takes a price back; a mark without one (a local ``mark``) takes
        effect and keeps the number in effect."""

        def save(last: str, seq: int | None) -> None:
            with store.transaction() as tx:
                tx.save_mark(Mark(symbol="AAPL", last=Decimal(last), ts=T0, seq=seq))

        save("150", 5)
        save("149", 4)  # older: nothing changes
        save("148", 5)  # the same one again: nothing changes
        assert (store.marks()["AAPL"].last, store.marks()["AAPL"].seq) == (Decimal(150), 5)
        save("151", 7)
        assert (store.marks()["AAPL"].last, store.marks()["AAPL"].seq) == (Decimal(151), 7)
        save("152", None)  # a local mark: in effect, the sequence kept
        assert (store.marks()["AAPL"].last, store.marks()["AAPL"].seq) == (Decimal(152), 7)
        save("140", 6)
        assert store.marks()["AAPL"].last == Decimal(152)
        save("153", 8)
        assert (store.marks()["AAPL"].last, store.marks()["AAPL"].seq) == (Decimal(153), 8)

    def test_open_orders_for_an_account_and_symbol(self, store: Store) -> None:
        seed(store, 1, 2, 3)
        with store.transaction() as tx:
            tx.update_order(order(2, status=OrderStatus.FILLED, version=1), 0)
            tx.insert_intent(intent(4))
            tx.insert_order(order(4, symbol="MSFT"), "int-4")
        with store.transaction() as tx:
            found = sorted(o.order_id for o in tx.open_orders_for("acct", "AAPL"))
            assert tx.open_orders_for("other", "AAPL") == []
        assert found == ["ord-1", "ord-3"]

    def test_fills_since_a_trading_day(self, store: Store) -> None:
        seed(store, 1)
        with store.transaction() as tx:
            tx.insert_fill(fill("ord-1", "a"), "acct", "s1", Decimal("1.5"), "2024-02-29")
            tx.insert_fill(fill("ord-1", "b"), "acct", "s1", Decimal("-2"), "2024-03-01")
            tx.insert_fill(fill("ord-1", "c"), "acct", "s1", Decimal(0), "2024-03-02")
        got = store.fills_since("2024-03-01")
        assert [(f.exec_id, f.realized_gross, f.trading_day) for f in got] == [
            ("b", Decimal(-2), "2024-03-01"),
            ("c", Decimal(0), "2024-03-02"),
        ]
        assert got[0].commission == Decimal("0.05")
        assert got[0].ts == T0 + timedelta(minutes=1)

    def test_kill_switches_upsert(self, store: Store) -> None:
        first = StoredKillSwitch("account", "acct", "ACTIVE", "loss", "ops", T0)
        store.save_kill_switch(first)
        store.save_kill_switch(StoredKillSwitch("global", "*", "ACTIVE", "halt", "ops", T0))
        cleared = replace(first, state="CLEARED", actor="desk", updated_at=T0 + timedelta(hours=1))
        store.save_kill_switch(cleared)
        assert store.kill_switches() == [
            cleared,
            StoredKillSwitch("global", "*", "ACTIVE", "halt", "ops", T0),
        ]

    def test_trading_controls_upsert(self, store: Store) -> None:
        store.save_trading_control(StoredControl("state", "HALTED", "ops", "fat finger", T0))
        store.save_trading_control(StoredControl("posture", "NORMAL", "ops", "", T0))
        later = StoredControl("state", "NORMAL", "desk", "resolved", T0 + timedelta(hours=1))
        store.save_trading_control(later)
        assert store.trading_controls() == [
            StoredControl("posture", "NORMAL", "ops", "", T0),
            later,
        ]

    # --------------------------------------------------------------- outbox

    def test_outbox_is_read_in_write_order(self, store: Store) -> None:
        with store.transaction() as tx:
            tx.record_events([event("k1", "a", payload='{"n":1}'), event("k2", "b", payload="{}")])
        with store.transaction() as tx:
            tx.record_events([event("k3", "c", payload='{"n":3}')])
        messages = settled_outbox(store, 3)
        assert [(m.topic, m.key, m.payload) for m in messages] == [
            ("a", "k1", '{"n":1}'),
            ("b", "k2", "{}"),
            ("c", "k3", '{"n":3}'),
        ]
        ids = [m.id for m in messages]
        assert ids == sorted(ids)
        assert len(set(ids)) == 3
        assert messages[0].created_at == T0
        assert store.outbox_after(ids[0], 1) == [messages[1]]
        assert store.outbox_after(ids[2], 10) == []

    def test_outbox_cursors_move_forward_only(self, store: Store) -> None:
        assert store.outbox_cursor("relay") == 0
        store.set_outbox_cursor("relay", 5)
        store.set_outbox_cursor("other", 2)
        assert store.outbox_cursor("relay") == 5
        store.set_outbox_cursor("relay", 3)
        assert store.outbox_cursor("relay") == 5
        store.set_outbox_cursor("relay", 9)
        assert (store.outbox_cursor("relay"), store.outbox_cursor("other")) == (9, 2)

    # --------------------------------------------------------------- errors

    def test_a_closed_store_fails_with_our_error(self, store: Store) -> None:
        store.close()
        with pytest.raises(PersistenceError):
            store.get_order("ord-1")
        with pytest.raises(PersistenceError), store.transaction() as tx:
            tx.insert_intent(intent(1))

    # --------------------------------------------------------------- engine

    def test_engine_submit_and_replay(self, store: Store) -> None:
        engine = ExecutionEngine(store, PaperBroker())
        engine.mark("AAPL", "150.00")
        first = engine.submit({"symbol": "AAPL", "side": "buy", "qty": "10", "key": "k-1"})
        again = engine.submit({"symbol": "AAPL", "side": "buy", "qty": "10", "key": "k-1"})
        assert first.status is OrderStatus.FILLED
        assert again.order_id == first.order_id
        assert again.replayed
        assert [p.qty for p in engine.positions()] == [Decimal(10)]
        topics = [m.topic for m in settled_outbox(store, 4)]
        assert {"orders.submitted", "executions.report", "orders.filled"} <= set(topics)
        assert all(m.key == first.order_id for m in store.outbox_after(0, 100))

    # --------------------------------------------------------------- leases

    def test_lease_claim_is_exclusive_while_live(self, store: Store) -> None:
        a, b = leases_for(store, "proc-a"), leases_for(store, "proc-b")
        ttl = timedelta(seconds=30)
        assert a.claim(["ord-1", "ord-2"], ttl) == ["ord-1", "ord-2"]
        assert b.claim(["ord-2", "ord-3"], ttl) == ["ord-3"]
        assert a.claim(["ord-1"], ttl) == ["ord-1"]  # ours already: kept
        assert a.held() == ["ord-1", "ord-2"]
        lease = a.lease("ord-2")
        assert lease is not None
        assert lease.owner == "proc-a"
        assert lease.expires_at > datetime.now(UTC)
        assert a.lease("ord-9") is None

    def test_expired_lease_can_be_stolen_and_the_loser_notices(self, store: Store) -> None:
        a, b = leases_for(store, "proc-a"), leases_for(store, "proc-b")
        assert a.claim(["ord-1", "ord-2"], timedelta(milliseconds=200)) == ["ord-1", "ord-2"]
        assert b.claim(["ord-1"], timedelta(seconds=30)) == []
        threading.Event().wait(0.3)
        assert a.held() == []
        assert b.claim(["ord-1"], timedelta(seconds=30)) == ["ord-1"]
        assert a.renew(timedelta(seconds=30)) == ["ord-2"]  # ord-1 is gone
        assert b.held() == ["ord-1"]

    def test_release(self, store: Store) -> None:
        a, b = leases_for(store, "proc-a"), leases_for(store, "proc-b")
        ttl = timedelta(seconds=30)
        a.claim(["ord-1", "ord-2", "ord-3"], ttl)
        b.release(["ord-1"])  # not b's to release
        assert a.held() == ["ord-1", "ord-2", "ord-3"]
        a.release(["ord-1"])
        assert b.claim(["ord-1"], ttl) == ["ord-1"]
        a.release_all()
        assert a.held() == []
        assert b.held() == ["ord-1"]

    def test_orphans_are_open_orders_nobody_holds(self, store: Store) -> None:
        seed(store, 1, 2, 3, 4)
        with store.transaction() as tx:
            tx.update_order(order(4, status=OrderStatus.REJECTED, version=1), 0)
        a, b = leases_for(store, "proc-a"), leases_for(store, "proc-b")
        a.claim(["ord-1"], timedelta(seconds=30))
        a.claim(["ord-2"], timedelta(milliseconds=100))
        threading.Event().wait(0.2)
        # an expired lease is an orphan at once; ord-3 was never leased and changed
        # 0.2 s ago (by the database's clock where there is one): not within 30 s
        assert b.claim_orphans(timedelta(seconds=30), limit=1) == ["ord-2"]
        assert b.claim_orphans(timedelta(milliseconds=100)) == ["ord-3"]
        assert b.claim_orphans(timedelta(seconds=30)) == []
        assert b.renew(timedelta(seconds=30)) == ["ord-2", "ord-3"]
        assert a.renew(timedelta(seconds=30)) == ["ord-1"]

    def test_a_just_created_order_is_not_an_orphan(self, store: Store) -> None:
        now = datetime.now(UTC)
        seed(store, 1, created_at=now, updated_at=now)  # its creator has not claimed it yet
        b = leases_for(store, "proc-b")
        assert b.claim_orphans(timedelta(seconds=30)) == []
        time.sleep(0.01)
        assert b.claim_orphans(timedelta(milliseconds=1)) == ["ord-1"]

    def test_prune_drops_leases_of_finished_orders(self, store: Store) -> None:
        seed(store, 1, 2)
        a = leases_for(store, "proc-a")
        a.claim(["ord-1", "ord-2", "ord-9"], timedelta(seconds=30))
        with store.transaction() as tx:
            tx.update_order(order(2, status=OrderStatus.REJECTED, version=1), 0)
        assert a.prune() == 2
        assert a.held() == ["ord-1"]


def _failing_step_with_receipt(store: Store) -> None:
    with store.transaction() as tx:
        tx.add_receipt("ord-1", "cl-1", "paper", '{"n":3}', T0)
        raise RuntimeError("the step fails after the receipt")


def _failing_step_with_amendment(store: Store, before: Fill, after: Fill) -> None:
    with store.transaction() as tx:
        tx.amend_fill(before, after, Decimal(0), "g-1")
        raise RuntimeError("the step fails after the amendment")
