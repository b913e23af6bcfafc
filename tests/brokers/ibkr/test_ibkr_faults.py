"""The ``ibkr`` adapter under IB's faults, with the engine where booking matters.

Issue 13's "must show": fills made while the socket is down are booked after it
returns; a commission after its fill; 1100 / 1101 / 1102; a duplicate execution; an
order visible only after a delay; LIVE refused on an account mismatch; the client id
in use refused; prices that would not survive the float wire refused before sending.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.brokers.ibkr import session as ib_session
from ordergate.brokers.ibkr.adapter import IbkrBroker
from ordergate.brokers.live import check_live_account
from ordergate.clock import SimulatedClock
from ordergate.config import Settings
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import (
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
    ConfigError,
    ErrorCode,
)
from ordergate.domain.gates import GateContext
from ordergate.domain.intent import OrderIntent
from ordergate.domain.positions import Position
from ordergate.domain.wire import OrderRequest
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.ports import InstrumentInfo
from ordergate.risk.broker_instruments import InstrumentSizes
from ordergate.risk.desk import RiskDesk
from ordergate.store.sqlite import SqliteStore
from tests.brokers.ibkr.fake_tws import ACCOUNT, FakeTws
from tests.brokers.ibkr.harness import CLIENT_ID, LABEL, IbkrHarness

WAIT = 10.0


def until(probe: Callable[[], Any], what: str, seconds: float = WAIT) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"after {seconds}s still not: {what}")
        time.sleep(0.02)


def request(cid: str, *, qty: str = "10", limit: str | None = None, **kw: Any) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        account_id=LABEL,
        symbol=kw.pop("symbol", "AAPL"),
        side=kw.pop("side", Side.BUY),
        qty=Decimal(qty),
        order_type=OrderType.LIMIT if limit or "stop_price" in kw else OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        limit_price=None if limit is None else Decimal(limit),
        **kw,
    )


@pytest.fixture
def engine(ibkr: IbkrHarness, tmp_path: Path) -> Iterator[ExecutionEngine]:
    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    yield ExecutionEngine(store, ibkr.adapter)
    store.close()


def intent(key: str, *, qty: str = "10", limit: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idempotency_key": key,
        "account_id": LABEL,
        "symbol": "AAPL",
        "side": "BUY",
        "qty": qty,
    }
    if limit is not None:
        body |= {"order_type": "LIMIT", "limit_price": limit}
    return body


def booked(engine: ExecutionEngine, order_id: str) -> list[Any]:
    return engine.store.fills_for(order_id)


# ------------------------------------------------------------- the socket


def test_fills_made_while_the_socket_is_down_are_booked_after_it_returns(
    ibkr: IbkrHarness, tws: FakeTws, engine: ExecutionEngine
) -> None:
    tws.parts_next = 2
    report = engine.submit(intent("down-1", limit="50"))
    assert report.status is OrderStatus.ACCEPTED
    tws.refuse()
    tws.drop_all()
    until(lambda: not ibkr.adapter.session.ready(), "the adapter lost the socket")
    order = engine.store.get_order(report.order_id)
    assert order is not None
    tws.trade(*ibkr.order_of(order.client_order_id))  # nobody connected to hear it
    time.sleep(0.3)
    assert booked(engine, report.order_id) == []
    tws.resume()  # the Gateway is back: the adapter reconnects by itself
    until(lambda: len(booked(engine, report.order_id)) == 2, "both fills booked")
    final = engine.store.get_order(report.order_id)
    assert final is not None
    assert final.status is OrderStatus.FILLED
    [position] = [p for p in engine.store.positions(LABEL) if p.symbol == "AAPL"]
    assert position.qty == Decimal(10)


def test_a_commission_after_its_fill_is_booked_with_it(
    ibkr: IbkrHarness, tws: FakeTws, engine: ExecutionEngine
) -> None:
    tws.hold_commissions = True
    report = engine.submit(intent("comm-1"))
    time.sleep(0.5)  # the execution is in; its commission is not: nothing booked yet
    assert booked(engine, report.order_id) == []
    tws.release_commissions()
    [fill] = until(lambda: booked(engine, report.order_id), "the fill booked")
    assert fill.commission == Decimal("1.00")
    time.sleep(0.3)
    assert len(booked(engine, report.order_id)) == 1, "the fill is booked once"


def test_a_commission_later_than_the_wait_is_added_to_the_booked_fill(
    ibkr: IbkrHarness, tws: FakeTws, engine: ExecutionEngine
) -> None:
    """Past ``commission_wait_s`` the fill is booked without its commission; when the
    report comes, the fill, the order's fees, the position and cash take it, once."""
    tws.hold_commissions = True
    report = engine.submit(intent("comm-late"))
    [bare] = until(lambda: booked(engine, report.order_id), "booked without its commission")
    assert bare.commission == 0
    cash = engine.cash.cash(LABEL)
    tws.release_commissions()
    until(
        lambda: [f.commission for f in booked(engine, report.order_id)] == [Decimal("1.00")],
        "the commission amended onto the fill",
    )
    order = engine.store.get_order(report.order_id)
    assert order is not None
    assert order.fees == Decimal("1.00")
    [position] = [p for p in engine.store.positions(LABEL) if p.symbol == "AAPL"]
    assert position.commission == Decimal("1.00")
    assert engine.cash.cash(LABEL) == cash - Decimal("1.00")
    ibkr.adapter.fetch_order(order.client_order_id)
    engine.sync_broker_state()  # every view again: the commission is not taken twice
    topics = [e.topic for e in engine.store.events_for(report.order_id)]
    assert topics.count("executions.corrected") == 1
    assert engine.cash.cash(LABEL) == cash - Decimal("1.00")


def test_a_socket_dropped_between_fill_and_commission(
    ibkr: IbkrHarness, tws: FakeTws, engine: ExecutionEngine
) -> None:
    tws.hold_commissions = True
    report = engine.submit(intent("comm-2", qty="400"))
    time.sleep(0.3)
    tws.held.clear()  # the commission report is lost with the socket
    tws.drop_all()
    [fill] = until(lambda: booked(engine, report.order_id), "the fill booked after reconnect")
    assert fill.commission == Decimal("2.000"), "the commission re-read with the execution"


def test_client_id_in_use_is_refused(
    ibkr: IbkrHarness, tws: FakeTws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ib_session, "IN_USE_GRACE_S", 0.3)
    ibkr.adapter.fetch_account()  # the first holds client id 7
    other = IbkrHarness(tws, tmp_path / "other")
    try:
        with pytest.raises(ConfigError) as info:
            other.adapter.fetch_account()
        assert "326" in info.value.message
        assert str(CLIENT_ID) in info.value.message
    finally:
        other.close()


# ------------------------------------------------------ 1100, 1101, 1102


def test_1100_stops_sending_and_1101_rereads_what_was_lost(
    ibkr: IbkrHarness, tws: FakeTws, engine: ExecutionEngine
) -> None:
    report = engine.submit(intent("sys-1", limit="50"))
    order = engine.store.get_order(report.order_id)
    assert order is not None
    tws.broadcast(1100, "Connectivity between IB and Trader Workstation has been lost.")
    until(lambda: not ibkr.adapter.stream_up, "stream marked down")
    with pytest.raises(BrokerUnavailable):
        ibkr.adapter.submit(request("og" + "1" * 24))
    assert not tws.by_ref("og" + "1" * 24), "nothing was sent during 1100"
    tws.trade(*ibkr.order_of(order.client_order_id), silent=True)  # its reports are lost
    time.sleep(0.2)
    assert booked(engine, report.order_id) == []
    tws.broadcast(1101, "Connectivity between IB and TWS has been restored - data lost.")
    until(lambda: booked(engine, report.order_id), "the lost fill re-read and booked")
    assert ibkr.adapter.stream_up


def test_1102_rereads_too(ibkr: IbkrHarness, tws: FakeTws, engine: ExecutionEngine) -> None:
    report = engine.submit(intent("sys-2", limit="50"))
    order = engine.store.get_order(report.order_id)
    assert order is not None
    tws.trade(*ibkr.order_of(order.client_order_id), silent=True)
    tws.broadcast(1102, "Connectivity between IB and TWS has been restored - data maintained.")
    until(lambda: booked(engine, report.order_id), "the fill re-read and booked")


# ---------------------------------------------------- reports and look-ups


def test_a_duplicate_execution_is_booked_once(
    ibkr: IbkrHarness, tws: FakeTws, engine: ExecutionEngine
) -> None:
    tws.duplicate = tws.reorder = True
    tws.parts_next = 3
    report = engine.submit(intent("dup-1", qty="9"))
    until(lambda: len(booked(engine, report.order_id)) == 3, "three fills")
    time.sleep(0.3)
    assert len(booked(engine, report.order_id)) == 3
    [position] = [p for p in engine.store.positions(LABEL) if p.symbol == "AAPL"]
    assert position.qty == Decimal(9)


def test_an_order_visible_only_after_a_delay_is_unknown_not_missing(
    ibkr: IbkrHarness, tws: FakeTws
) -> None:
    tws.hide_next_s = 4.0  # longer than the submit waits (1.5 s)
    tws.lose_next = True
    cid = "og" + "2" * 24
    with pytest.raises(BrokerTimeout):
        ibkr.adapter.submit(request(cid, limit="50"))
    with pytest.raises(BrokerTimeout) as info:  # TWS has it: a miss would be a lie
        ibkr.adapter.fetch_order(cid)
    assert "unknown" in info.value.message
    view = until(lambda: _quiet_fetch(ibkr, cid), "the hidden order visible")
    assert view.status is OrderStatus.ACCEPTED


def _quiet_fetch(ibkr: IbkrHarness, cid: str) -> Any:
    try:
        return ibkr.adapter.fetch_order(cid)
    except BrokerTimeout:
        return None


def test_a_miss_is_proven_by_the_ledger_and_next_valid_id(
    ibkr: IbkrHarness, tws: FakeTws, tmp_path: Path
) -> None:
    never = "og" + "3" * 24
    assert ibkr.adapter.fetch_order(never) is None  # placeOrder never called for it
    reserved = "og" + "4" * 24  # an id written to the ledger, then a crash before sending
    ledger = ibkr.adapter._ledger
    ledger.reserve(reserved, tws.next_valid.get(CLIENT_ID, 1) + 5, CLIENT_ID)
    assert ibkr.adapter.fetch_order(reserved) is None
    sent = "og" + "5" * 24
    tws.lose_next = True
    with pytest.raises(BrokerTimeout):
        ibkr.adapter.submit(request(sent, limit="50"))
    tws.orders.pop(ibkr.order_of(sent))  # TWS took order id n and shows nothing
    with pytest.raises(BrokerTimeout):  # n < nextValidId: received, so not a miss
        ibkr.adapter.fetch_order(sent)


def test_a_warning_leaves_the_order_live_and_an_error_ends_it(
    ibkr: IbkrHarness, tws: FakeTws
) -> None:
    live, dead = "og" + "6" * 24, "og" + "7" * 24
    ibkr.adapter.submit(request(live, limit="50"))
    ibkr.adapter.submit(request(dead, limit="50"))
    [a], [b] = tws.by_ref(live), tws.by_ref(dead)
    tws.tell(a, 399, "Order Message: Warning: your order will not be placed at the exchange")
    tws.tell(b, 201, f"Order rejected - reason: account {ACCOUNT} is restricted")
    time.sleep(0.3)
    view = ibkr.adapter.fetch_order(live)
    assert view is not None
    assert view.status is OrderStatus.ACCEPTED
    ended = ibkr.adapter.fetch_order(dead)
    assert ended is not None
    assert ended.status is OrderStatus.CANCELED
    assert "IB error 201" in ended.reason
    assert ACCOUNT not in ended.reason
    assert ACCOUNT not in repr(ended.raw)


# ---------------------------------------------------- floats, ticks, lots


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"limit": "50.123456789012345678"}, ErrorCode.E_INTENT_INVALID),
        ({"limit": "50.005"}, ErrorCode.E_RISK_TICK_SIZE),
        ({"qty": "1.5"}, ErrorCode.E_RISK_LOT_SIZE),
        ({"limit": "6000.10", "symbol": "ESZ6", "qty": "1"}, ErrorCode.E_RISK_TICK_SIZE),
    ],
)
def test_numbers_ib_cannot_take_are_refused_before_sending(
    ibkr: IbkrHarness, tws: FakeTws, kw: dict[str, str], code: ErrorCode
) -> None:
    cid = "og" + "8" * 24
    with pytest.raises(BrokerRejected) as info:
        ibkr.adapter.submit(request(cid, **kw))
    assert info.value.code is code, info.value
    assert not [f for f in tws.received if f[0] == "3"], "nothing was sent"


def test_contracts_from_settings_give_tick_and_lot(ibkr: IbkrHarness) -> None:
    es = ibkr.adapter.instrument("ESZ6")
    assert (es.tick, es.lot, es.multiplier) == (Decimal("0.25"), Decimal(1), Decimal(50))
    assert es.contract.secType == "FUT"
    fx = ibkr.adapter.instrument("EURUSD")
    assert fx.tick == Decimal("0.00005")
    assert fx.contract.secType == "CASH"
    assert ibkr.adapter.instrument("AAPL").tick == Decimal("0.01")
    info: InstrumentInfo = ibkr.adapter  # the engine's port for computed prices
    assert info.tick_size("ESZ6") == Decimal("0.25")
    assert ibkr.adapter.lot_size("AAPL") == Decimal(1)
    assert info.tick_size("ZZZZ") is None


def test_the_desks_gates_take_ibs_tick_where_no_instrument_is_configured(
    ibkr: IbkrHarness, tmp_path: Path
) -> None:
    assert isinstance(ibkr.adapter, InstrumentSizes)
    store = SqliteStore(tmp_path / "desk.db")
    store.migrate()
    clock = SimulatedClock()
    desk = RiskDesk(store, clock, trading_day=lambda when: when.date().isoformat(),
                    sizes=ibkr.adapter)  # fmt: skip
    context = GateContext(position=Position(symbol="ESZ6"), mark=None, open_orders_qty=Decimal(0))
    body = {"idempotency_key": "k", "account_id": LABEL, "symbol": "ESZ6", "side": "BUY",
            "qty": "1", "order_type": "LIMIT", "limit_price": "5000.10"}  # fmt: skip
    refused = desk.check(OrderIntent.parse(body), context)
    assert refused is not None
    assert refused.code is ErrorCode.E_RISK_TICK_SIZE
    assert "tick=0.25" in refused.message
    assert desk.tick_size("ESZ6") == Decimal("0.25")  # the bracket prices' grid too
    store.close()


def test_quotes_for_the_market_data_port(ibkr: IbkrHarness) -> None:
    mark = ibkr.adapter.fetch_quote("AAPL")
    assert mark is not None
    assert (mark.last, mark.bid, mark.ask) == (Decimal(100), Decimal("99.99"), Decimal("100.01"))
    assert isinstance(mark.last, Decimal)


# ------------------------------------------------------------- brackets


def test_an_oca_group_cancels_the_rest_when_one_fills(ibkr: IbkrHarness, tws: FakeTws) -> None:
    take, stop = "og" + "a" * 24, "og" + "b" * 24
    ibkr.adapter.submit(request(take, limit="50", oco_group="grp-1"))
    ibkr.adapter.submit(request(stop, limit="40", oco_group="grp-1"))
    ibkr.trade(take)
    view = until(lambda: _final(ibkr, stop), "the other leg canceled")
    assert view.status is OrderStatus.CANCELED
    assert view.oco_group == "grp-1"
    [order] = tws.by_ref(stop)
    assert order.view.oca_type == 1, "OCA with block"


def test_a_parent_with_a_child(ibkr: IbkrHarness, tws: FakeTws) -> None:
    parent, child = "og" + "c" * 24, "og" + "d" * 24
    ibkr.adapter.submit(request(parent, limit="50"))
    ibkr.adapter.submit(request(child, limit="50", side=Side.SELL, parent_client_order_id=parent))
    [order] = tws.by_ref(child)
    assert order.view.parent_id == tws.by_ref(parent)[0].view.order_id
    ibkr.trade(parent)
    view = until(lambda: _final(ibkr, child), "the child working once the parent filled")
    assert view.status is OrderStatus.FILLED
    assert view.parent_client_order_id == parent


def _final(ibkr: IbkrHarness, cid: str) -> Any:
    view = ibkr.adapter.fetch_order(cid)
    return view if view is not None and view.status.is_terminal else None


# ------------------------------------------------------------------ pacing


def test_pacing_keeps_under_fifty_messages_per_second(ibkr: IbkrHarness, tws: FakeTws) -> None:
    """Every message counts (IB: 50 per second); measured where ib_async writes to the
    socket (the fake's own count is skewed when a loaded machine delays its reader)."""
    adapter = ibkr.adapter
    adapter.fetch_account()
    sent: list[float] = []

    async def burst() -> None:
        ib = await adapter.session.connected()
        write = ib.client.conn.sendMsg

        def timed(msg: bytes) -> None:
            sent.append(time.monotonic())
            write(msg)

        ib.client.conn.sendMsg = timed  # type: ignore[method-assign]
        for _ in range(120):
            ib.client.reqCurrentTime()

    before = len(tws.received)
    adapter.session.call(burst, 5, "a burst")
    until(lambda: len(tws.received) >= before + 120, "all 120 messages at TWS", 10)
    busiest = max(sum(1 for t in sent if s <= t < s + 1.0) for s in sent)
    assert len(sent) >= 120
    assert busiest <= 50, f"{busiest} messages in one second"
    assert sent[-1] - sent[0] >= 2.0, "120 messages take more than two seconds at 45/s"


# ------------------------------------------------------------- midnight


def test_across_midnight_the_gap_is_flagged_for_reconcile(
    ibkr: IbkrHarness, tws: FakeTws, tmp_path: Path
) -> None:
    cid = "og" + "e" * 24
    ibkr.adapter.submit(request(cid))
    until(lambda: _final(ibkr, cid), "filled")
    ibkr.close()
    tws.midnight()
    later = IbkrHarness(tws, tmp_path)  # the next day: a fresh session
    try:
        view = later.adapter.fetch_order(cid)
        assert view is not None
        assert view.executions == ()
        assert view.status is not OrderStatus.FILLED, "no fills to carry a FILLED"
        assert view.raw["executions_missing"] == "10"
        assert sum(p.qty for p in later.adapter.fetch_positions()) == Decimal(10)
    finally:
        later.close()


# ------------------------------------------------------------------ LIVE


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'og.db'}", account_id=LABEL, **kw)


def test_live_needs_mode_live_and_the_managed_account(tws: FakeTws, tmp_path: Path) -> None:
    right = IbkrHarness(tws, tmp_path / "a")
    try:
        with pytest.raises(ConfigError, match="MODE=LIVE"):
            check_live_account(_settings(tmp_path), right.adapter)
        check_live_account(_settings(tmp_path, mode="LIVE"), right.adapter)
    finally:
        right.close()
    wrong = IbkrHarness(tws, tmp_path / "b", account="U9999999", client_id=8)
    try:
        with pytest.raises(ConfigError) as info:
            check_live_account(_settings(tmp_path, mode="LIVE"), wrong.adapter)
        assert "not one this IB login manages" in info.value.message
        assert "U9999999" not in str(info.value)
        assert ACCOUNT not in str(info.value)
    finally:
        wrong.close()


def test_the_adapter_is_an_isolated_plugin(tmp_path: Path) -> None:
    from ordergate.brokers.ibkr.plugin import PLUGIN, build

    assert PLUGIN.make is build
    assert isinstance(PLUGIN.settings.model_fields["account"].annotation, type)
    assert IbkrBroker.capabilities.lookup_miss_conclusive


# --------------------------------------------------------------- secrets


def test_no_account_number_in_logs_receipts_events_or_errors(
    ibkr: IbkrHarness,
    tws: FakeTws,
    engine: ExecutionEngine,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("ib_async").setLevel(logging.DEBUG)  # the SDK's wire dump on
    ibkr.adapter.session.call(_reconnect_now(ibkr), 10, "a reconnect")  # logs the handshake
    filled = engine.submit(intent("sec-1"))
    tws.reject_next = f"account {ACCOUNT} has insufficient margin"
    rejected = engine.submit(intent("sec-2"))
    assert rejected.status is OrderStatus.REJECTED
    resting = engine.submit(intent("sec-3", limit="50"))
    engine.cancel(resting.order_id)
    ibkr.adapter.fetch_account()
    ibkr.adapter.fetch_positions()
    until(lambda: booked(engine, filled.order_id), "the fill booked")
    lines = [r.getMessage() for r in caplog.records] + [r.exc_text or "" for r in caplog.records]
    assert any(line.startswith(">>> 3,") for line in lines), "the SDK's debug lines were on"
    assert any("***" in line for line in lines), "lines that named the account were redacted"
    assert not [line for line in lines if ACCOUNT in line]
    out = capsys.readouterr()
    assert ACCOUNT not in out.out
    assert ACCOUNT not in out.err
    for report in (filled, rejected, resting):
        events = engine.store.events_for(report.order_id)
        assert events
        assert ACCOUNT not in repr(events)
        order = engine.store.get_order(report.order_id)
        assert ACCOUNT not in repr(order)
    assert rejected.error_code == ErrorCode.E_EXEC_BROKER_REJECTED.name
    assert "insufficient margin" in (rejected.error_message or "")


def _reconnect_now(ibkr: IbkrHarness) -> Callable[[], Any]:
    async def again() -> None:
        session = ibkr.adapter.session
        if session.ib is not None:
            session.ib.disconnect()
        await session.connected()

    return again


def test_the_stream_connects_by_itself_when_tws_comes_up_late(tws: FakeTws, tmp_path: Path) -> None:
    tws.refuse()  # TWS is down when the engine starts
    late = IbkrHarness(tws, tmp_path)
    try:
        late.adapter.subscribe(lambda view: None)
        time.sleep(0.3)
        assert not late.adapter.session.ready()
        tws.resume()
        until(late.adapter.session.ready, "connected with nothing asked of IB")
    finally:
        late.close()


def test_a_symbol_ib_does_not_know_is_refused_with_ibs_text(
    ibkr: IbkrHarness, tws: FakeTws
) -> None:
    with pytest.raises(BrokerRejected) as info:
        ibkr.adapter.submit(request("og" + "f" * 24, symbol="ZZZZ"))
    assert "IB error 200" in info.value.message
    assert not [f for f in tws.received if f[0] == "3"], "nothing was sent"


def test_protection_of_a_filled_parent_is_an_oca_pair_that_keeps_its_parent(
    ibkr: IbkrHarness, tws: FakeTws, tmp_path: Path
) -> None:
    """How the engine sends a bracket: the entry fills, then its stop and take-profit
    come with ``parent_client_order_id`` and one ``oco_group``."""
    entry, stop, take = "og" + "1a" * 12, "og" + "1b" * 12, "og" + "1c" * 12
    ibkr.adapter.submit(request(entry))
    until(lambda: _final(ibkr, entry), "the entry filled")
    group = f"{entry}:oco"
    legs: dict[str, Any] = {"parent_client_order_id": entry, "oco_group": group}
    ibkr.adapter.submit(request(take, limit="160", side=Side.SELL, **legs))
    stop_loss = request(stop, side=Side.SELL, stop_price=Decimal("40"), **legs)
    ibkr.adapter.submit(dataclasses.replace(stop_loss, order_type=OrderType.STOP))
    for cid in (stop, take):
        [order] = tws.by_ref(cid)
        assert order.view.parent_id == 0, "no parentId on a filled parent"
        assert order.view.oca_group == group
    ibkr.trade(take)
    view = until(lambda: _final(ibkr, stop), "the stop canceled by the OCA group")
    assert view.status is OrderStatus.CANCELED
    assert view.parent_client_order_id == entry
    ibkr.close()
    later = IbkrHarness(tws, tmp_path)  # a restart: the link comes from the ledger
    try:
        again = later.adapter.fetch_order(take)
        assert again is not None
        assert again.parent_client_order_id == entry
    finally:
        later.close()


def test_a_fill_lost_across_midnight_ends_in_a_reconcile_report(
    tws: FakeTws, tmp_path: Path
) -> None:
    from ordergate.engine.reconcile import reconcile

    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    try:
        day1 = IbkrHarness(tws, tmp_path / "day1")
        report = ExecutionEngine(store, day1.adapter).submit(intent("night-1", limit="50"))
        order = store.get_order(report.order_id)
        assert order is not None
        day1.close()  # the engine is down overnight; the order fills; midnight passes
        tws.trade(*day1.order_of(order.client_order_id))
        tws.midnight()
        day2 = IbkrHarness(tws, tmp_path / "day1")
        try:
            engine = ExecutionEngine(store, day2.adapter)
            engine.sync_broker_state()
            assert booked(engine, report.order_id) == [], "no execution left to book"
            found = reconcile(engine, persist=False)
            assert found.requires_manual_resolution
            kinds = {m.kind.value for m in found.mismatches}
            assert "PHANTOM_POSITION" in kinds or "MISMATCH" in kinds, found.to_dict()
        finally:
            day2.close()
    finally:
        store.close()
