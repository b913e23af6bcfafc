"""The submit path end to end on a real SQLite file: seeds 000 and 001's scenarios."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.brokers.base import BrokerOrder, Execution, OrderRequest
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.enums import OrderStatus, Side
from ordergate.domain.errors import (
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
    ConfigError,
    ErrorCode,
    IdempotencyConflict,
    InvalidIntent,
    OrderNotCancelable,
    OrderNotFound,
    PersistenceError,
)
from ordergate.engine.engine import EngineConfig, ExecutionEngine, client_order_id_for
from ordergate.store.sqlite import SqliteStore
from tests.fakes import ScriptedBroker

D = Decimal


def intent(key: str = "k-1", **changes: Any) -> dict[str, Any]:
    return {"symbol": "AAPL", "side": "buy", "qty": "100", "idempotency_key": key, **changes}


def topics(engine: ExecutionEngine, order_id: str) -> list[str]:
    return [e.topic for e in engine.store.events_for(order_id)]


def table_count(store: SqliteStore, table: str) -> int:
    return int(store._read(f"SELECT count(*) FROM {table}")[0][0])


@pytest.fixture
def scripted(clock: SimulatedClock) -> ScriptedBroker:
    return ScriptedBroker(clock)


@pytest.fixture
def scripted_engine(
    store: SqliteStore, scripted: ScriptedBroker, clock: SimulatedClock
) -> ExecutionEngine:
    return ExecutionEngine(store, scripted, clock=clock, ids=SequentialIds())


# ---------------------------------------------------------------- seed 001


def test_scenario_1_market_buy_fills_and_opens_a_position(engine: ExecutionEngine) -> None:
    engine.mark("005930", "70000")
    report = engine.submit(intent(symbol="005930"))
    assert report.status is OrderStatus.FILLED
    assert report.filled_qty == D(100)
    assert report.avg_price == D("70035")  # 70,000 + 5 bps
    assert report.fees == D(1)
    statuses = [e.to_status for e in engine.store.events_for(report.order_id)]
    assert statuses[:2] == ["PENDING", "SUBMITTED"]
    assert statuses[-1] == "FILLED"
    [position] = engine.positions()
    assert (position.symbol, position.qty, position.avg_price) == ("005930", D(100), D(70035))


def test_scenario_2_broker_rejects_an_untradable_symbol(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    broker = PaperBroker(clock=clock, tradable=frozenset({"AAPL"}))
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    engine.mark("XYZ", "10")
    seen: list[str] = []
    engine.subscribe("orders.rejected", lambda event: seen.append(event.topic))
    report = engine.submit(intent(symbol="XYZ"))
    assert report.status is OrderStatus.REJECTED
    assert report.error_code == "E_EXEC_BROKER_REJECTED"
    assert "not tradable" in report.error_message
    assert engine.positions() == []
    assert seen == ["ordergate.orders.rejected"]


def test_scenario_4_partial_fill_is_tracked(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    report = scripted_engine.submit(intent(qty="1000"))
    assert report.status is OrderStatus.ACCEPTED
    scripted.fill(report.client_order_id, "500", "10", "x1")
    order = scripted_engine.order(report.order_id)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_qty == D(500)
    assert order in scripted_engine.store.open_orders()
    assert scripted_engine.positions()[0].qty == D(500)


def test_scenario_5_close_with_realized_pnl_net_of_commission(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    buy = scripted_engine.submit(intent("b", symbol="005930"))
    scripted.fill(buy.client_order_id, "100", "70000", "e1", fee="150")
    sell = scripted_engine.submit(intent("s", symbol="005930", side="sell"))
    scripted.fill(sell.client_order_id, "100", "72000", "e2", fee="160")
    [position] = scripted_engine.positions()
    assert position.qty == 0
    assert position.realized_gross == D(200_000)
    pnl = scripted_engine.pnl()
    assert pnl.realized_gross == D(200_000)
    assert pnl.realized_pnl == D(200_000) - D(310)
    assert pnl.daily == {scripted_engine.trading_day(): D(199_690)}


# ---------------------------------------------------------------- seed 000


def test_same_key_same_payload_returns_the_one_order(
    engine: ExecutionEngine, paper: PaperBroker
) -> None:
    engine.mark("AAPL", "150")
    first = engine.submit(intent())
    again = engine.submit(intent(qty="100.0"))
    assert again.order_id == first.order_id
    assert again.replayed
    assert len(paper.fetch_positions()) == 1
    assert paper.fetch_positions()[0].qty == D(100)
    assert len(engine.orders()) == 1


def test_same_key_different_payload_is_a_conflict(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    scripted_engine.submit(intent())
    with pytest.raises(IdempotencyConflict) as err:
        scripted_engine.submit(intent(qty="200"))
    assert err.value.code is ErrorCode.E_EXEC_IDEMPOTENCY_CONFLICT
    assert not err.value.retryable
    assert len(scripted.submits) == 1


def test_keys_are_per_account(scripted_engine: ExecutionEngine, scripted: ScriptedBroker) -> None:
    a = scripted_engine.submit(intent(account_id="acct-a"))
    b = scripted_engine.submit(intent(account_id="acct-b"))
    assert a.order_id != b.order_id
    assert a.client_order_id != b.client_order_id
    assert len(scripted.submits) == 2


def test_client_order_id_is_derived_from_the_key() -> None:
    cid = client_order_id_for("default", "k-1")
    assert cid == client_order_id_for("default", "k-1")
    assert cid != client_order_id_for("default", "k-2")
    assert len(cid) == 26
    assert cid.isalnum()


def test_database_down_fails_closed_and_sends_nothing(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    broker = ScriptedBroker(clock)
    engine = ExecutionEngine(store, broker, clock=clock)
    store.close()  # the database goes away
    with pytest.raises(PersistenceError) as err:
        engine.submit(intent())
    assert err.value.code is ErrorCode.E_EXEC_PERSISTENCE
    assert err.value.retryable
    assert broker.submits == []


def test_a_locked_database_fails_closed(tmp_path: Path, clock: SimulatedClock) -> None:
    store = SqliteStore(tmp_path / "og.db", busy_timeout_ms=50)
    store.migrate()
    broker = ScriptedBroker(clock)
    engine = ExecutionEngine(store, broker, clock=clock)
    blocker = sqlite3.connect(tmp_path / "og.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(PersistenceError):
            engine.submit(intent())
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert broker.submits == []
    assert engine.submit(intent()).status is OrderStatus.ACCEPTED  # same key works once it is back


def test_invalid_intent_leaves_no_record(engine: ExecutionEngine, store: SqliteStore) -> None:
    for bad in (
        intent(qty="-1"),
        intent(side="hold"),
        intent(order_type="limit"),
        {"symbol": "AAPL"},
    ):
        with pytest.raises(InvalidIntent):
            engine.submit(bad)
    assert table_count(store, "intents") == 0
    assert table_count(store, "orders") == 0
    assert table_count(store, "order_events") == 0


def test_expired_intent_is_refused_before_anything_is_recorded(
    engine: ExecutionEngine, clock: SimulatedClock, store: SqliteStore
) -> None:
    past = clock.now().replace(year=2025).isoformat()
    with pytest.raises(InvalidIntent) as err:
        engine.submit(intent(expire_at=past))
    assert err.value.code is ErrorCode.E_INTENT_EXPIRED
    assert table_count(store, "orders") == 0


# ---------------------------------------------------------------- fills


def test_a_fill_reported_twice_is_applied_once(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    report = scripted_engine.submit(intent())
    view = scripted.fill(report.client_order_id, "40", "10", "dup-1")
    scripted.push(view)
    scripted.push(view)
    order = scripted_engine.order(report.order_id)
    assert order.filled_qty == D(40)
    assert len(scripted_engine.fills(report.order_id)) == 1
    assert scripted_engine.positions()[0].qty == D(40)


def test_stale_and_out_of_order_updates_do_not_move_backwards(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    report = scripted_engine.submit(intent())
    accepted = scripted.orders[report.client_order_id]
    scripted.fill(report.client_order_id, "100", "10", "f1")
    scripted.push(accepted)  # a stale ACCEPTED arrives after the fill
    order = scripted_engine.order(report.order_id)
    assert order.status is OrderStatus.FILLED
    assert order.filled_qty == D(100)


def test_late_fill_after_cancel_is_applied(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    report = scripted_engine.submit(intent())
    canceled = scripted_engine.cancel(report.order_id)
    assert canceled.status is OrderStatus.CANCELED
    late = replace(
        scripted.orders[report.client_order_id],
        executions=(
            Execution(exec_id="late", last_qty=D(100), last_px=D(10), ts=scripted.clock.now()),
        ),
        filled_qty=D(100),
        status=OrderStatus.FILLED,
    )
    scripted.push(late)
    order = scripted_engine.order(report.order_id)
    assert order.status is OrderStatus.FILLED
    assert order.late
    assert scripted_engine.fills(report.order_id)[0].late
    assert scripted_engine.positions()[0].qty == D(100)


def test_cumulative_quantity_without_executions_is_deduped(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    report = scripted_engine.submit(intent())
    base = scripted.orders[report.client_order_id]
    partial = replace(base, filled_qty=D(30), avg_price=D(10), status=OrderStatus.PARTIALLY_FILLED)
    scripted.push(partial)
    scripted.push(partial)
    full = replace(base, filled_qty=D(100), avg_price=D(11), status=OrderStatus.FILLED)
    scripted.push(full)
    order = scripted_engine.order(report.order_id)
    assert order.filled_qty == D(100)
    assert order.avg_fill_price == D(11)
    assert len(scripted_engine.fills(report.order_id)) == 2


def test_overfill_from_the_broker_is_not_booked(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    report = scripted_engine.submit(intent(qty="10"))
    base = scripted.orders[report.client_order_id]
    too_much = replace(
        base,
        executions=(
            Execution(exec_id="big", last_qty=D(11), last_px=D(1), ts=scripted.clock.now()),
        ),
    )
    scripted.push(too_much)
    assert scripted_engine.order(report.order_id).filled_qty == 0
    assert scripted_engine.positions() == []


# ---------------------------------------------------------------- broker answers


def test_timeout_after_the_broker_took_the_order_adopts_it(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    """The reply was lost, not the order: the look-up by client_order_id finds it."""

    def accept_then_drop_reply(request: OrderRequest) -> BrokerOrder:
        scripted.orders[request.client_order_id] = BrokerOrder(
            client_order_id=request.client_order_id,
            broker_order_id="B-lost",
            status=OrderStatus.ACCEPTED,
            symbol=request.symbol,
            side=request.side,
            qty=request.qty,
        )
        raise BrokerTimeout("no answer in 2000 ms")

    scripted.on_submit = accept_then_drop_reply
    report = scripted_engine.submit(intent())
    assert report.status is OrderStatus.ACCEPTED
    assert report.raw_broker_ref == "B-lost"
    assert "orders.submit_attempt" in topics(scripted_engine, report.order_id)
    assert len(scripted.submits) == 1


def test_timeout_with_nothing_at_the_broker_fails_without_a_duplicate(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    def timeout(request: OrderRequest) -> BrokerOrder:
        raise BrokerTimeout("no answer in 2000 ms")

    scripted.on_submit = timeout
    report = scripted_engine.submit(intent())
    assert report.status is OrderStatus.FAILED
    assert report.error_code == "E_EXEC_BROKER_TIMEOUT"
    assert len(scripted.submits) == 1
    assert scripted.orders == {}


def test_broker_unreachable_fails_the_order_with_a_retryable_code(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    def refused(request: OrderRequest) -> BrokerOrder:
        raise BrokerUnavailable("connection refused")

    scripted.on_submit = refused
    report = scripted_engine.submit(intent())
    assert report.status is OrderStatus.FAILED
    assert report.error_code == "E_EXEC_BROKER_UNAVAILABLE"


def test_an_adapter_bug_is_treated_as_unknown_outcome(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    """An unexpected error is never taken for a reject: the order is looked up first."""

    def bug(request: OrderRequest) -> BrokerOrder:
        raise KeyError("oops")

    scripted.on_submit = bug
    scripted.fetch_order = lambda client_order_id: (_ for _ in ()).throw(BrokerUnavailable("down"))  # type: ignore[method-assign]
    report = scripted_engine.submit(intent())
    assert report.status is OrderStatus.SUBMITTED  # unknown: tracking or recovery settles it


def test_sync_applies_what_the_stream_missed(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    report = scripted_engine.submit(intent())
    scripted.listeners.clear()  # the stream is down
    scripted.fill(report.client_order_id, "100", "10", "missed")
    assert scripted_engine.order(report.order_id).filled_qty == 0
    summary = scripted_engine.sync_broker_state()
    assert {k: summary[k] for k in ("checked", "changed", "missing_at_broker")} == {
        "checked": 1,
        "changed": 1,
        "missing_at_broker": [],
    }
    assert scripted_engine.order(report.order_id).status is OrderStatus.FILLED


# ---------------------------------------------------------------- cancel


def test_cancel_a_resting_limit(engine: ExecutionEngine) -> None:
    engine.mark("AAPL", "150")
    report = engine.submit(intent(order_type="limit", limit_price="140"))
    assert report.status is OrderStatus.ACCEPTED
    canceled = engine.cancel(report.order_id)
    assert canceled.status is OrderStatus.CANCELED
    with pytest.raises(OrderNotCancelable):
        engine.cancel(report.order_id)
    with pytest.raises(OrderNotFound):
        engine.cancel("ord_nope")


def test_cancel_refused_by_the_broker_goes_back_to_working(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    report = scripted_engine.submit(intent())
    scripted.cancel_rejects = True
    result = scripted_engine.cancel(report.order_id)
    assert result.status is OrderStatus.ACCEPTED
    assert "orders.pending_cancel" in topics(scripted_engine, report.order_id)


def test_paper_limit_rests_then_fills_on_a_cross(engine: ExecutionEngine) -> None:
    engine.mark("AAPL", "150", bid="149.99", ask="150.01")
    report = engine.submit(intent(side="sell", order_type="limit", limit_price="152"))
    assert report.status is OrderStatus.ACCEPTED
    engine.mark("AAPL", "151.90")
    assert engine.order(report.order_id).status is OrderStatus.ACCEPTED
    engine.mark("AAPL", "152.50")
    filled = engine.report(report.order_id)
    assert filled.status is OrderStatus.FILLED
    assert filled.avg_price is not None
    assert filled.avg_price >= D(152)


def test_dry_run_refuses_a_broker_that_is_not_a_simulated_venue(
    store: SqliteStore, scripted: ScriptedBroker, clock: SimulatedClock
) -> None:
    """Fail closed: an engine told to dry-run never holds a broker it could send to."""
    from dataclasses import replace

    scripted.capabilities = replace(scripted.capabilities, simulated=False)  # a real account
    with pytest.raises(ConfigError, match="not a simulated venue"):
        ExecutionEngine(store, scripted, clock=clock, config=EngineConfig(dry_run=True))
    assert scripted.submits == []


def test_execute_marks_then_submits(engine: ExecutionEngine) -> None:
    report = engine.execute(intent(), {"last": "100.00", "bid": "99.99", "ask": "100.01"})
    assert report.status is OrderStatus.FILLED
    assert report.avg_price == D("100.05")
    report = engine.execute(intent("k-2", symbol="MSFT"), {"MSFT": {"last": "400"}})
    assert report.avg_price == D("400.2")


def test_broker_rejection_exception_becomes_a_rejected_order(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker
) -> None:
    def reject(request: OrderRequest) -> BrokerOrder:
        raise BrokerRejected("insufficient funds")

    scripted.on_submit = reject
    report = scripted_engine.submit(intent())
    assert report.status is OrderStatus.REJECTED
    assert report.error_message == "insufficient funds"


# ---------------------------------------------------------------- TC-004


def test_concurrent_submits_of_one_intent_make_one_order(
    engine: ExecutionEngine, paper: PaperBroker
) -> None:
    engine.mark("AAPL", "150")
    results: list[str] = []
    errors: list[BaseException] = []

    def go() -> None:
        try:
            results.append(engine.submit(intent("same")).order_id)
        except BaseException as exc:  # pragma: no cover - the assertion shows it
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1
    assert paper.fetch_positions()[0].qty == D(100)


def test_concurrent_submits_of_different_intents_are_all_booked(
    engine: ExecutionEngine, paper: PaperBroker
) -> None:
    engine.mark("AAPL", "150")

    def go(n: int) -> None:
        for i in range(10):
            engine.submit(intent(f"t{n}-{i}", qty="1"))

    threads = [threading.Thread(target=go, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(engine.orders()) == 60
    assert engine.positions()[0].qty == D(60)
    assert paper.fetch_positions()[0].qty == D(60)


def test_events_are_published_after_commit_with_schema_version(engine: ExecutionEngine) -> None:
    seen: list[dict[str, Any]] = []
    engine.subscribe("*", lambda event: seen.append(event.payload))
    engine.mark("AAPL", "150")
    assert seen[0]["topic"] == "market.mark"
    seen.clear()
    report = engine.submit(intent())
    assert [p["topic"] for p in seen] == topics(engine, report.order_id)
    assert all(p["schema_version"] == 1 for p in seen)
    fill_event = next(p for p in seen if p["topic"] == "executions.report")
    assert fill_event["fill"]["last_qty"] == "100"


def test_a_day_order_expires_at_the_paper_session_close(tmp_path: Path) -> None:
    """ORDERGATE_PAPER_SESSION_CLOSE: a DAY limit still working at the close expires;
    the engine learns it with the venue's first event after the close."""
    from datetime import UTC, datetime, timedelta

    from ordergate.bootstrap import build_engine
    from ordergate.config import load_settings

    clock = SimulatedClock(datetime(2026, 1, 6, 20, 0, tzinfo=UTC))  # 15:00 New York
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'day.db'}",
        paper_session_close="16:00",
        risk_enabled=False,
    )
    engine = build_engine(settings, clock=clock)
    engine.mark("AAPL", "100")
    day = engine.submit(intent("day", order_type="limit", limit_price="90"))
    gtc = engine.submit(intent("gtc", order_type="limit", limit_price="90", time_in_force="GTC"))
    clock.advance(timedelta(hours=2))  # past the close
    engine.mark("AAPL", "100.5")
    assert engine.order(day.order_id).status is OrderStatus.EXPIRED
    assert engine.order(gtc.order_id).status is OrderStatus.ACCEPTED
    engine.store.close()


def test_raw_receipts_are_kept_redacted(store: SqliteStore, clock: SimulatedClock) -> None:
    """Seed 000: raw broker receipts stored as artifacts, with credentials masked."""
    from ordergate.obs.redact import Redactor

    broker = ScriptedBroker(clock)

    def accept_with_raw(request: OrderRequest) -> BrokerOrder:
        return BrokerOrder(
            client_order_id=request.client_order_id,
            broker_order_id="B-raw",
            status=OrderStatus.ACCEPTED,
            symbol=request.symbol,
            side=request.side,
            qty=request.qty,
            raw={"id": "B-raw", "api_key": "AKIA123456", "echo": "signed with s3cr3t-key-xyz"},
        )

    broker.on_submit = accept_with_raw
    engine = ExecutionEngine(store, broker, clock=clock, redactor=Redactor(["s3cr3t-key-xyz"]))
    report = engine.submit(intent())
    [raw] = store.receipts_for(report.order_id)
    assert "B-raw" in raw
    assert "AKIA123456" not in raw
    assert "s3cr3t-key-xyz" not in raw
    broker.push(broker.orders[report.client_order_id])  # nothing new: no second receipt
    assert len(store.receipts_for(report.order_id)) == 1


def test_a_stream_fill_that_beats_the_receipt_is_booked_once(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker, clock: SimulatedClock
) -> None:
    """The receipt is applied to the order the engine holds; if the stream changed it
    first, the version check refuses that and the receipt is applied to the stored one."""

    def fill_on_the_stream_first(request: OrderRequest) -> BrokerOrder:
        ack = scripted.ack(request, "B1")
        scripted.orders[request.client_order_id] = ack
        return scripted.fill(request.client_order_id, "100", "150.10", "X1")  # pushed now

    scripted.on_submit = fill_on_the_stream_first
    report = scripted_engine.submit(intent("race"))
    assert report.status is OrderStatus.FILLED
    assert [f.exec_id for f in report.fills] == ["X1"]
    assert scripted_engine.positions()[0].qty == Decimal(100)
    order_topics = topics(scripted_engine, report.order_id)
    assert order_topics.count("executions.report") == 1


def test_stream_fills_racing_receipts_from_many_threads_book_each_fill_once(
    store: SqliteStore, clock: SimulatedClock
) -> None:
    """Submits from several threads while a stream thread replays every execution
    (twice) as the receipts are being recorded: each fill is booked once, the position
    is their sum, and the audit chain still verifies."""
    from ordergate.obs.audit import verify_chain

    broker = ScriptedBroker(clock)
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    sent: list[str] = []
    lock = threading.Lock()

    def fill_at_once(request: OrderRequest) -> BrokerOrder:
        ack = broker.ack(request, f"B-{request.client_order_id}")
        broker.orders[request.client_order_id] = ack
        with lock:
            sent.append(request.client_order_id)
        return replace(
            ack,
            status=OrderStatus.FILLED,
            filled_qty=request.qty,
            executions=(
                Execution(
                    exec_id=f"X-{request.client_order_id}",
                    last_qty=request.qty,
                    last_px=D(150),
                    ts=ack.ts,
                ),
            ),
        )

    broker.on_submit = fill_at_once
    done = threading.Event()

    def stream() -> None:
        replayed = 0
        while not done.is_set() or replayed < len(sent):
            with lock:
                pending = sent[replayed:]
            for cid in pending:
                view = broker.orders[cid]
                full = replace(
                    view,
                    status=OrderStatus.FILLED,
                    filled_qty=view.qty,
                    executions=(
                        Execution(
                            exec_id=f"X-{cid}", last_qty=view.qty, last_px=D(150), ts=view.ts
                        ),
                    ),
                )
                for _ in range(2):
                    engine.on_broker_update(full)
            replayed += len(pending)

    def submitter(n: int) -> None:
        for i in range(15):
            engine.submit(intent(f"race-{n}-{i}", qty="1"))

    listener = threading.Thread(target=stream)
    listener.start()
    workers = [threading.Thread(target=submitter, args=(n,)) for n in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    listener.join(30)

    orders = engine.orders()
    assert len(orders) == 60
    assert all(o.status is OrderStatus.FILLED for o in orders)
    assert all(len(engine.fills(o.order_id)) == 1 for o in orders)
    assert engine.positions()[0].qty == D(60)
    conn = sqlite3.connect(store.path)
    try:
        assert verify_chain(conn).ok
    finally:
        conn.close()


def test_an_order_the_broker_placed_itself_is_adopted_and_booked(
    scripted_engine: ExecutionEngine, scripted: ScriptedBroker, clock: SimulatedClock
) -> None:
    """Kite's intraday square-off, a liquidation, an order typed into the broker's own
    terminal: the engine records it under the broker's id and books its fills."""
    from ordergate.brokers.base import BrokerOrder, Execution

    view = BrokerOrder(
        client_order_id="broker-B77",
        broker_order_id="B77",
        status=OrderStatus.FILLED,
        symbol="AAPL",
        side=Side.SELL,
        qty=D(30),
        filled_qty=D(30),
        avg_price=D(101),
        executions=(Execution(exec_id="X1", last_qty=D(30), last_px=D(101), ts=clock.now()),),
        originated_by_broker=True,
    )
    scripted.push(view)
    scripted.push(view)  # reported twice: adopted and booked once
    adopted = scripted_engine.store.order_by_client_id("broker-B77")
    assert adopted is not None
    assert adopted.status is OrderStatus.FILLED
    assert adopted.strategy_id == "broker"
    [position] = scripted_engine.positions()
    assert position.qty == -30
    assert len(scripted_engine.fills(adopted.order_id)) == 1
