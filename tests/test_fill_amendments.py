"""Busts and corrections of booked fills (FIX ExecType H / G, IB's late commission):
the order, the position, cash and realized P&L are taken back exactly, once, and the
record (events, fill rows, ``audit verify``) says so."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.bootstrap import build_runtime
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.config import load_settings
from ordergate.domain.enums import OrderStatus, Side
from ordergate.domain.errors import ErrorCode, PersistenceError
from ordergate.domain.fills import Amend
from ordergate.domain.positions import Position, book
from ordergate.domain.wire import Execution
from ordergate.engine.cash import CashLedger
from ordergate.engine.engine import ExecutionEngine
from ordergate.risk.ledger import RiskLedger
from ordergate.store.base import Store
from ordergate.store.checkpoint import AuditTrail, Checkpoint
from ordergate.store.memory import MemoryStore
from ordergate.store.sqlite import SqliteStore, SqliteUnitOfWork
from tests.fakes import ScriptedBroker
from tests.obs.chainkit import KEY, derived, verify

D = Decimal
START = D(100_000)


def make_engine(store: Store, clock: SimulatedClock) -> tuple[ExecutionEngine, ScriptedBroker]:
    broker = ScriptedBroker(clock)
    ledger = CashLedger(START)
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds(), cash=ledger)
    return engine, broker


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """A keyed store, so that ``audit verify`` re-folds its derived rows."""
    trail = AuditTrail(KEY, Checkpoint(tmp_path / "og.head", KEY, "og"))
    s = SqliteStore(tmp_path / "og.db", audit=trail)
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def rig(store: SqliteStore, clock: SimulatedClock) -> tuple[ExecutionEngine, ScriptedBroker]:
    return make_engine(store, clock)


def order_for(
    engine: ExecutionEngine, key: str, qty: str, side: str = "buy", symbol: str = "AAPL"
) -> str:
    report = engine.submit(
        {"symbol": symbol, "side": side, "qty": qty, "idempotency_key": key, "order_type": "market"}
    )
    assert report.status is OrderStatus.ACCEPTED
    return report.client_order_id


def amend(
    broker: ScriptedBroker,
    cid: str,
    exec_id: str,
    kind: Amend,
    *,
    qty: str = "0",
    px: str = "0",
    fee: str = "0",
    amend_id: str = "",
) -> None:
    """The broker's view with ``exec_id`` busted or corrected in place, pushed."""
    view = broker.orders[cid]
    executions = []
    for e in view.executions:
        if e.exec_id != exec_id:
            executions.append(e)
        elif kind is Amend.BUST:
            executions.append(replace(e, amend=kind, amend_id=amend_id))
        else:
            executions.append(
                replace(
                    e,
                    last_qty=D(qty),
                    last_px=D(px),
                    commission=D(fee),
                    amend=kind,
                    amend_id=amend_id,
                )
            )
    alive = [e for e in executions if e.amend is not Amend.BUST]
    filled = sum((e.last_qty for e in alive), D(0))
    status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACCEPTED
    if filled == view.qty:
        status = OrderStatus.FILLED
    broker.push(replace(view, executions=tuple(executions), filled_qty=filled, status=status))


def topics(engine: ExecutionEngine, order_id: str) -> list[str]:
    return [e.topic for e in engine.store.events_for(order_id)]


def test_a_bust_takes_the_fill_back_exactly_and_once(
    rig: tuple[ExecutionEngine, ScriptedBroker], store: SqliteStore
) -> None:
    engine, broker = rig
    cid = order_for(engine, "b1", "100")
    broker.fill(cid, "60", "10", "x1", fee="1.50")
    broker.fill(cid, "40", "11", "x2", fee="1.00")
    order = engine.store.order_by_client_id(cid)
    assert order is not None
    assert order.status is OrderStatus.FILLED
    assert engine.cash.cash("default") == START - D(1040) - D("2.50")

    amend(broker, cid, "x1", Amend.BUST, amend_id="b-x1")
    order = engine.store.order_by_client_id(cid)
    assert order is not None
    assert order.status is OrderStatus.CANCELED
    assert order.reason == "bust"
    assert (order.filled_qty, order.avg_fill_price, order.fees) == (D(40), D(11), D("1.00"))
    [position] = engine.positions()
    assert (position.qty, position.avg_price, position.commission) == (D(40), D(11), D("1.00"))
    assert engine.cash.cash("default") == START - D(440) - D("1.00")
    assert [f.exec_id for f in engine.store.fills_for(order.order_id)] == ["x2"]
    assert "executions.busted" in topics(engine, order.order_id)
    events = len(topics(engine, order.order_id))

    amend(broker, cid, "x1", Amend.BUST, amend_id="b-x1")  # the same bust again
    broker.push(broker.orders[cid])
    assert len(topics(engine, order.order_id)) == events
    assert engine.cash.cash("default") == START - D(440) - D("1.00")
    # a stale view that still shows x1 as a trade books nothing
    stale = replace(
        broker.orders[cid],
        executions=tuple(replace(e, amend=Amend.NONE) for e in broker.orders[cid].executions),
    )
    broker.push(stale)
    assert engine.positions()[0].qty == D(40)
    assert not derived(verify(store)), "the derived rows agree with the chain"
    # and a restart rebuilds the same cash from the stored positions
    again, _ = make_engine(store, SimulatedClock())
    assert again.cash.cash("default") == START - D(440) - D("1.00")


def test_a_correction_replaces_the_figures_and_replays_realized_pnl(
    rig: tuple[ExecutionEngine, ScriptedBroker], store: SqliteStore
) -> None:
    engine, broker = rig
    buy = order_for(engine, "c-buy", "100")
    broker.fill(buy, "100", "10", "b1")
    sell = order_for(engine, "c-sell", "50", side="sell")
    broker.fill(sell, "50", "12", "s1")
    assert engine.positions()[0].realized_gross == D(100)

    amend(broker, buy, "b1", Amend.CORRECT, qty="100", px="10.50", fee="2", amend_id="g1")
    [position] = engine.positions()
    assert (position.qty, position.avg_price) == (D(50), D("10.50"))
    assert position.realized_gross == D(75)  # 50 x (12 - 10.50)
    assert position.commission == D(2)
    assert engine.cash.cash("default") == START - D(1050) - D(2) + D(600)
    order = engine.store.order_by_client_id(buy)
    assert order is not None
    assert order.status is OrderStatus.FILLED
    assert (order.avg_fill_price, order.fees) == (D("10.50"), D(2))
    pnl = engine.pnl()
    assert pnl.realized_gross == D(75)
    assert pnl.commission == D(2)
    assert sum(pnl.daily.values()) == D(73)
    assert not derived(verify(store))


def test_busting_the_opening_buy_leaves_the_sale_a_short(
    rig: tuple[ExecutionEngine, ScriptedBroker],
) -> None:
    engine, broker = rig
    buy = order_for(engine, "s-buy", "100")
    broker.fill(buy, "100", "10", "b1")
    sell = order_for(engine, "s-sell", "100", side="sell")
    broker.fill(sell, "100", "12", "s1")
    assert engine.positions()[0].qty == 0
    amend(broker, buy, "b1", Amend.BUST)
    [position] = engine.positions()
    assert (position.qty, position.avg_price, position.realized_gross) == (D(-100), D(12), D(0))
    assert engine.cash.cash("default") == START + D(1200)


def test_a_late_commission_is_booked_once(
    rig: tuple[ExecutionEngine, ScriptedBroker], store: SqliteStore
) -> None:
    engine, broker = rig
    cid = order_for(engine, "fee", "10")
    broker.fill(cid, "10", "100", "e1")  # released without its commission
    amend(broker, cid, "e1", Amend.CORRECT, qty="10", px="100", fee="1.25")
    amend(broker, cid, "e1", Amend.CORRECT, qty="10", px="100", fee="1.25")
    order = engine.store.order_by_client_id(cid)
    assert order is not None
    assert order.fees == D("1.25")
    assert engine.positions()[0].commission == D("1.25")
    assert engine.cash.cash("default") == START - D(1000) - D("1.25")
    assert topics(engine, order.order_id).count("executions.corrected") == 1
    assert not derived(verify(store))


def test_a_bust_of_part_of_a_working_order_leaves_it_working(
    rig: tuple[ExecutionEngine, ScriptedBroker],
) -> None:
    engine, broker = rig
    cid = order_for(engine, "w", "100")
    broker.fill(cid, "30", "10", "p1")
    amend(broker, cid, "p1", Amend.BUST, amend_id="h1")
    order = engine.store.order_by_client_id(cid)
    assert order is not None
    assert order.status is OrderStatus.ACCEPTED
    assert order.filled_qty == 0
    assert order.avg_fill_price is None
    broker.fill(cid, "100", "10", "p2")
    order = engine.store.order_by_client_id(cid)
    assert order is not None
    assert order.status is OrderStatus.FILLED
    assert engine.positions()[0].qty == D(100)


def test_an_amendment_of_an_execution_never_booked(
    rig: tuple[ExecutionEngine, ScriptedBroker],
) -> None:
    """A correction seen first is the trade as it stands; a bust seen first books nothing."""
    engine, broker = rig
    cid = order_for(engine, "u", "100")
    view = broker.orders[cid]
    ts = engine.clock.now()
    entries = (
        Execution(exec_id="u1", last_qty=D(10), last_px=D(5), ts=ts, amend=Amend.CORRECT),
        Execution(exec_id="u2", last_qty=D(20), last_px=D(5), ts=ts, amend=Amend.BUST),
    )
    broker.push(replace(view, executions=entries, status=OrderStatus.PARTIALLY_FILLED))
    assert engine.positions()[0].qty == D(10)


# ------------------------------------------------------------ the property

_fill = st.tuples(
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(1, 50),  # quantity
    st.integers(900, 1100),  # price in cents
    st.integers(0, 300),  # commission in cents
)


@st.composite
def scenarios(draw: Any) -> tuple[list[Any], list[Any], list[tuple[int, int]]]:
    """Fills, amendments, and the order they all arrive in: ``(0, i)`` books fill ``i``,
    ``(1, k)`` applies amendment ``k`` — anywhere after the fill it amends, before or
    after later fills and other amendments."""
    fills = draw(st.lists(_fill, min_size=1, max_size=8))
    n = len(fills)
    amendment = st.tuples(
        st.integers(0, n - 1),
        st.sampled_from([Amend.BUST, Amend.CORRECT]),
        st.integers(1, 60),
        st.integers(900, 1100),
        st.integers(0, 300),
        st.booleans(),  # delivered twice
    )
    amendments = draw(st.lists(amendment, max_size=10))
    keys: list[tuple[int, int, int, int]] = [(i, 0, 0, i) for i in range(n)]
    for k, (i, *_) in enumerate(amendments):
        later = draw(st.integers(0, n - 1 - i))  # how many later fills come before it
        keys.append((i + later, 1, draw(st.integers(0, 3)), k))
    return fills, amendments, [(kind, index) for _, kind, _, index in sorted(keys)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_fills_and_amendments_in_any_order_equal_the_surviving_fills(
    scenario: tuple[list[Any], list[Any], list[tuple[int, int]]],
) -> None:
    fills, amendments, arrivals = scenario
    engine, broker = make_engine(MemoryStore(), SimulatedClock())
    cents = D("0.01")
    # each fill is its own order (every order opened first), with room for a correction
    cids = [order_for(engine, f"o{i}", "60", side=side.value) for i, (side, *_) in enumerate(fills)]
    state: list[tuple[Side, D, D, D] | None] = [None] * len(fills)
    booked: list[int] = []  # fill indexes in the order they were booked
    for kind, index in arrivals:
        if kind == 0:
            side, qty, px, fee = fills[index]
            broker.fill(cids[index], str(qty), str(px * cents), f"e{index}", fee=str(fee * cents))
            state[index] = (side, D(qty), px * cents, fee * cents)
            booked.append(index)
            continue
        i, amend_kind, qty, px, fee, twice = amendments[index]
        for _ in range(2 if twice else 1):
            amend(
                broker,
                cids[i],
                f"e{i}",
                amend_kind,
                qty=str(qty),
                px=str(px * cents),
                fee=str(fee * cents),
                amend_id=f"a{index}",
            )
        current = state[i]
        if current is not None:
            corrected = (current[0], D(qty), px * cents, fee * cents)
            state[i] = None if amend_kind is Amend.BUST else corrected
        else:
            state[i] = None  # busted before: a correction of a busted trade is ignored
    survivors = [s for s in (state[i] for i in booked) if s is not None]  # booking order
    expected = Position.replay("AAPL", survivors)
    positions = engine.positions()
    got = positions[0] if positions else Position(symbol="AAPL")
    assert (got.qty, got.avg_price, got.realized_gross, got.commission) == (
        expected.qty,
        expected.avg_price,
        expected.realized_gross,
        expected.commission,
    )
    flows = sum((-(q * p if s is Side.BUY else -q * p) - book(c) for s, q, p, c in survivors), D(0))
    assert engine.cash.cash("default") == START + flows
    for cid, s in zip(cids, state, strict=True):
        order = engine.store.order_by_client_id(cid)
        assert order is not None
        assert order.filled_qty == (D(0) if s is None else s[1])


def test_the_amendment_survives_a_restart_on_a_file(tmp_path: Path) -> None:
    clock = SimulatedClock()
    store = SqliteStore(tmp_path / "a.db")
    store.migrate()
    engine, broker = make_engine(store, clock)
    cid = order_for(engine, "r", "10")
    broker.fill(cid, "10", "100", "r1")
    amend(broker, cid, "r1", Amend.BUST)
    store.close()
    reopened = SqliteStore(tmp_path / "a.db")
    reopened.migrate()
    order = reopened.order_by_client_id(cid)
    assert order is not None
    assert order.filled_qty == 0
    assert reopened.fills_for(order.order_id) == []
    assert [p.qty for p in reopened.positions()] == [D(0)]
    reopened.close()


def test_the_risk_desks_loss_ledger_takes_the_amendment(tmp_path: Path) -> None:
    """The daily loss breaker reads the ledger: a busted winning sale takes its profit
    back there too, live and when the ledger is rebuilt from the stored fills."""
    clock = SimulatedClock()
    broker = ScriptedBroker(clock)
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'risk.db'}")
    runtime = build_runtime(settings, broker=broker, clock=clock, ids=SequentialIds())
    engine, desk = runtime.engine, runtime.desk
    assert desk is not None
    engine.mark("AAPL", "10")
    buy = order_for(engine, "l-buy", "100")
    broker.fill(buy, "100", "10", "b1")
    engine.mark("AAPL", "12")
    sell = order_for(engine, "l-sell", "100", side="sell")
    broker.fill(sell, "100", "12", "s1", fee="1")
    day = engine.trading_day()
    assert desk.ledger.day("default", day).realized == D(199)
    amend(broker, sell, "s1", Amend.BUST, amend_id="h1")
    assert desk.ledger.day("default", day).realized == D(0)
    rebuilt = RiskLedger.from_fills(engine.store.fills_since(day))
    assert rebuilt.day("default", day).realized == D(0)


def test_a_correction_past_the_orders_quantity_is_refused_and_changes_nothing(
    rig: tuple[ExecutionEngine, ScriptedBroker], store: SqliteStore
) -> None:
    engine, broker = rig
    cid = order_for(engine, "over", "10")
    broker.fill(cid, "10", "100", "o1")
    amend(broker, cid, "o1", Amend.CORRECT, qty="12", px="100", amend_id="g-over")
    order = engine.store.order_by_client_id(cid)
    assert order is not None
    assert (order.status, order.filled_qty) == (OrderStatus.FILLED, D(10))
    assert engine.positions()[0].qty == D(10)
    assert engine.cash.cash("default") == START - D(1000)
    assert "executions.corrected" not in topics(engine, order.order_id)
    assert not derived(verify(store))


def test_a_store_failure_mid_amendment_leaves_everything_as_it_was(
    rig: tuple[ExecutionEngine, ScriptedBroker],
    store: SqliteStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bust is one unit of work: the order, the position, the fill row and the cash
    ledger move together or not at all; the broker's next word applies it once."""
    engine, broker = rig
    cid = order_for(engine, "fail", "10")
    broker.fill(cid, "10", "100", "f1", fee="1")
    cash = engine.cash.cash("default")

    def refuse(*args: Any) -> None:
        raise PersistenceError("disk I/O error", code=ErrorCode.E_EXEC_PERSISTENCE)

    with monkeypatch.context() as patch:
        patch.setattr(SqliteUnitOfWork, "amend_fill", refuse)
        with pytest.raises(PersistenceError):
            amend(broker, cid, "f1", Amend.BUST, amend_id="h-fail")
    order = engine.store.order_by_client_id(cid)
    assert order is not None
    assert (order.status, order.filled_qty) == (OrderStatus.FILLED, D(10))
    assert engine.positions()[0].qty == D(10)
    assert engine.cash.cash("default") == cash
    assert [f.exec_id for f in engine.store.fills_for(order.order_id)] == ["f1"]

    broker.push(broker.orders[cid])  # the same view again, the store well
    assert [p.qty for p in engine.store.positions()] == [0]
    assert engine.cash.cash("default") == START
    assert topics(engine, order.order_id).count("executions.busted") == 1
    assert not derived(verify(store))
