"""The FIX session under faults: the stale-order hazard, reports twice and out of
order, the replace chain, the status sweep after a reconnect, credentials."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
import structlog

from ordergate.brokers.base import BrokerOrder
from ordergate.brokers.fix import sessionfile
from ordergate.brokers.fix.adapter import FixBroker
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import BrokerTimeout, BrokerUnavailable, ConfigError
from ordergate.domain.wire import OrderRequest
from ordergate.testing.broker_contract import assert_whole
from tests.brokers.fix.kit import ACCOUNT, PASSWORD, FixRig, initiator_settings, until


def request(cid: str, *, qty: str = "10", limit: str | None = None) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        account_id=ACCOUNT,
        symbol="AAPL",
        side=Side.BUY,
        qty=Decimal(qty),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        time_in_force=TimeInForce.DAY,
        limit_price=Decimal(limit) if limit else None,
    )


class Stream:
    def __init__(self) -> None:
        self.views: list[BrokerOrder] = []
        self.lock = threading.Lock()

    def __call__(self, view: BrokerOrder) -> None:
        with self.lock:
            self.views.append(view)

    def of(self, cid: str) -> list[BrokerOrder]:
        with self.lock:
            return [v for v in self.views if v.client_order_id == cid]


def received(rig: FixRig, kind: str) -> list[dict[str, str | None]]:
    return [m for m in list(rig.counterparty.received) if m["35"] == kind]


# ------------------------------------------------------------ the hazard


def _submit_into_a_dead_session(rig: FixRig, monkeypatch: pytest.MonkeyPatch, cid: str) -> None:
    """The race the logon check cannot close: the session goes down between the check
    and QuickFIX's send. QuickFIX takes the order anyway (sendToTarget says True)."""
    rig.down()
    monkeypatch.setattr(rig.adapter, "_require_logon", lambda op, wait=0.0: None)
    with pytest.raises(BrokerTimeout):  # unknown, never "rejected" or "not sent"
        rig.adapter.submit(request(cid))
    monkeypatch.undo()
    rig.up()
    time.sleep(1.0)  # the resend request and its answer


def test_an_order_handed_to_a_dead_session_is_never_filled_stale(
    rig: FixRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    _submit_into_a_dead_session(rig, monkeypatch, "og-stale-1")
    assert rig.counterparty.book.find("og-stale-1") is None, "the stale order reached the venue"
    assert not [m for m in received(rig, "D") if m["11"] == "og-stale-1"]
    assert received(rig, "4"), "QuickFIX answered the resend with a gap fill"
    assert rig.adapter.fetch_order("og-stale-1") is None  # settled: never received
    assert rig.adapter.fetch_positions() == []


def test_the_hazard_is_real_with_stored_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: with PersistMessages=Y (which the adapter refuses) the same race
    ends with the order replayed (43=Y) at the next logon and filled, stale."""
    monkeypatch.setattr(sessionfile, "persist_problem", lambda persist: None)
    rig = FixRig(tmp_path, persist=True)
    try:
        _submit_into_a_dead_session(rig, monkeypatch, "og-stale-2")
        until(lambda: rig.counterparty.book.find("og-stale-2") is not None, "the replay")
        [replayed] = [m for m in received(rig, "D") if m["11"] == "og-stale-2"]
        assert replayed["43"] == "Y"
        order = rig.counterparty.book.find("og-stale-2")
        assert order is not None
        assert order.status == "2", "the counterparty filled the stale order"
    finally:
        rig.close()


def test_persist_messages_must_be_off(tmp_path: Path) -> None:
    path = initiator_settings(tmp_path, 1, persist=True)
    with pytest.raises(ConfigError, match="PersistMessages=N"):
        sessionfile.read_session_file(path)


def test_nothing_is_sent_while_logged_out(rig: FixRig) -> None:
    rig.down()
    with pytest.raises(BrokerUnavailable):
        rig.adapter.submit(request("og-down"))
    rig.up()
    assert not [m for m in received(rig, "D") if m["11"] == "og-down"]


# ------------------------------------------------------------ the reports


@pytest.mark.parametrize("poss_dup", [True, False], ids=["possdup", "plain"])
def test_a_report_sent_twice_counts_once(rig: FixRig, poss_dup: bool) -> None:
    faults = rig.counterparty.faults
    faults.duplicate, faults.duplicate_poss_dup, faults.parts = True, poss_dup, 2
    stream = Stream()
    rig.adapter.subscribe(stream)
    rig.adapter.submit(request("og-twice"))
    until(lambda: any(v.status is OrderStatus.FILLED for v in stream.of("og-twice")), "filled")
    time.sleep(0.2)  # the second copies
    view = rig.adapter.fetch_order("og-twice")
    assert view is not None
    assert_whole(view)
    assert len(view.executions) == 2
    assert view.filled_qty == Decimal(10)
    [position] = rig.adapter.fetch_positions()
    assert position.qty == Decimal(10)


def test_reports_out_of_order_never_move_an_order_back(rig: FixRig) -> None:
    faults = rig.counterparty.faults
    faults.reorder, faults.parts = True, 3
    stream = Stream()
    rig.adapter.subscribe(stream)
    rig.adapter.submit(request("og-reorder", qty="9"))
    until(lambda: any(v.status is OrderStatus.FILLED for v in stream.of("og-reorder")), "filled")
    time.sleep(0.2)
    seen = stream.of("og-reorder")
    first_filled = next(i for i, v in enumerate(seen) if v.status is OrderStatus.FILLED)
    assert all(v.status is OrderStatus.FILLED for v in seen[first_filled:]), seen
    for view in seen:
        assert_whole(view)
    final = rig.adapter.fetch_order("og-reorder")
    assert final is not None
    assert final.status is OrderStatus.FILLED
    assert len(final.executions) == 3


def test_a_delayed_report_is_unknown_then_found(rig: FixRig) -> None:
    rig.counterparty.faults.delay_s = 4.0  # longer than the adapter's 3 s
    with pytest.raises(BrokerTimeout):
        rig.adapter.submit(request("og-late"))
    until(lambda: (v := rig.adapter.fetch_order("og-late")) is not None and v.executions, "late")


# ---------------------------------------------------------------- replace


def test_a_replace_chain_keeps_11_and_41_across_a_restart(rig: FixRig) -> None:
    rig.adapter.submit(request("og-chain", limit="50"))
    rig.adapter.modify("og-chain", new_client_order_id="unused", limit_price=Decimal("51"))
    rig.restart_adapter()  # the chain is journaled, not held in memory
    rig.adapter.modify("og-chain", new_client_order_id="unused", limit_price=Decimal("52"))
    view = rig.adapter.fetch_order("og-chain")
    assert view is not None
    assert view.limit_price == Decimal("52")
    assert view.client_order_id == "og-chain"
    canceled = rig.adapter.cancel("og-chain")
    assert canceled.status is OrderStatus.CANCELED
    links = [(m["35"], m["11"], m["41"]) for m in rig.counterparty.received if m["35"] in "GF"]
    assert links == [
        ("G", "og-chain.1", "og-chain"),
        ("G", "og-chain.2", "og-chain.1"),
        ("F", "og-chain.3", "og-chain.2"),
    ]
    venue = rig.counterparty.book.find("og-chain")
    assert venue is not None
    assert venue.chain == ["og-chain", "og-chain.1", "og-chain.2", "og-chain.3"]


# --------------------------------------------------------------- reconnect


def test_a_reconnect_asks_the_status_of_every_open_order_once(rig: FixRig) -> None:
    resting = [f"og-open-{i}" for i in range(3)]
    for cid in resting:
        rig.adapter.submit(request(cid, limit="50"))
    rig.adapter.submit(request("og-done"))
    until(lambda: (v := rig.adapter.fetch_order("og-done")) and v.status.is_terminal, "done")
    rig.counterparty.received.clear()
    logons = rig.adapter.session.logons
    rig.down(refuse=False)  # QuickFIX logs on again by itself
    until(lambda: rig.adapter.session.logons > logons, "the logon after the drop")
    until(lambda: len(received(rig, "H")) >= 3, "the status sweep")
    time.sleep(0.5)
    assert sorted(m["11"] or "" for m in received(rig, "H")) == resting


def test_a_fill_made_while_down_arrives_by_resend(rig: FixRig) -> None:
    stream = Stream()
    rig.adapter.subscribe(stream)
    rig.adapter.submit(request("og-missed", limit="50"))
    rig.down()
    rig.counterparty.trade("og-missed")  # its report waits in the acceptor's store
    rig.up()
    until(lambda: any(v.status is OrderStatus.FILLED for v in stream.of("og-missed")), "pushed")
    view = rig.adapter.fetch_order("og-missed")
    assert view is not None
    assert len(view.executions) == 1, "the resent report and the status answer: one fill"


# ------------------------------------------------------------ credentials


def test_credentials_and_account_stay_out_of_logs_receipts_and_files(
    rig: FixRig, tmp_path: Path
) -> None:
    with structlog.testing.capture_logs() as logs:
        rig.restart_adapter()  # a logon, with 553/554
        rig.adapter.submit(request("og-secret"))
        until(lambda: (v := rig.adapter.fetch_order("og-secret")) and v.executions, "filled")
    text = repr(logs)
    assert "fix.out" in text, "the message log ran"
    assert "554=***" in text
    assert PASSWORD not in text
    assert f"1={ACCOUNT}" not in text
    view = rig.adapter.fetch_order("og-secret")
    assert view is not None
    assert ACCOUNT not in repr(view.raw)
    assert PASSWORD not in repr(view.raw)
    ours = [tmp_path / "initiator-store", tmp_path / "journal.db"]
    for path in ours:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            assert PASSWORD.encode() not in file.read_bytes(), file


def test_a_wrong_password_never_logs_on(rig: FixRig) -> None:
    rig.adapter.close()
    wrong = rig.block.model_copy(update={"password": rig.block.password.__class__("nope")})
    adapter = FixBroker(wrong, timeout=1.0)
    try:
        assert not adapter.start(2.0)
        with pytest.raises(BrokerUnavailable):
            adapter.submit(request("og-nope"))
    finally:
        adapter.close()
    rig.adapter = rig.new_adapter()


def test_decimals_cross_exactly(rig: FixRig) -> None:
    price = Decimal("50.123456789012345")
    rig.adapter.submit(request("og-exact", qty="0.000001", limit=str(price)))
    venue = rig.counterparty.book.find("og-exact")
    assert venue is not None
    assert (venue.price, venue.qty) == (price, Decimal("0.000001"))


def test_a_counterparty_without_status_requests(tmp_path: Path) -> None:
    """``status_requests=false``: look-ups read the journal (a scan, never conclusive)
    and a reconnect sends no 35=H."""
    rig = FixRig(tmp_path, status_requests=False)
    try:
        caps = rig.adapter.capabilities
        assert caps.lookup.value == "SCAN"
        assert not caps.lookup_miss_conclusive
        rig.adapter.submit(request("og-scan", limit="50"))
        until(lambda: rig.adapter.fetch_order("og-scan") is not None, "journaled")
        rig.down(refuse=False)
        until(lambda: rig.adapter.stream_up, "logged on again")
        time.sleep(0.5)
        assert not received(rig, "H")
    finally:
        rig.close()
