"""The journal alone: what a report does to an order, without a session."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from ordergate.brokers.fix.codec import Report, Terms
from ordergate.brokers.fix.journal import Journal
from ordergate.brokers.fix.views import order_view, positions
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.fills import Amend

TERMS = Terms(
    symbol="AAPL",
    side=Side.BUY,
    qty=Decimal(10),
    order_type=OrderType.LIMIT,
    time_in_force=TimeInForce.DAY,
    limit_price=Decimal(50),
)
BASE = Report(
    cl_ord_id="og1", orig_cl_ord_id=None, order_id="O1", exec_id="S1", exec_type="0",
    ord_status="0", symbol="AAPL", side=Side.BUY, order_qty=Decimal(10),
    order_type=OrderType.LIMIT, time_in_force=TimeInForce.DAY, limit_price=Decimal(50),
    stop_price=None, last_qty=Decimal(0), last_px=Decimal(0), cum_qty=Decimal(0),
    avg_px=None, commission=Decimal(0), trade_date="20261201", transact_time="20261201-10:00:00",
    text="", ord_rej_reason=None, exec_ref_id=None, poss_dup=False, seq=1,
)  # fmt: skip


def trade(exec_id: str, qty: str, cum: str, px: str = "50", **more: object) -> Report:
    status = "2" if Decimal(cum) == 10 else "1"
    return replace(
        BASE, exec_id=exec_id, exec_type="F", ord_status=status, last_qty=Decimal(qty),
        last_px=Decimal(px), cum_qty=Decimal(cum), **more,
    )  # fmt: skip


def journal() -> Journal:
    j = Journal(":memory:", "FIX.4.4:A->B")
    j.record_new("og1", TERMS)
    return j


def view(j: Journal) -> tuple[OrderStatus, Decimal, int]:
    stored = j.order("og1")
    assert stored is not None
    v = order_view(stored, j.executions("og1"), symbol="AAPL", account="A")
    return v.status, v.filled_qty, len(v.executions)


def test_possdup_and_plain_repeats_of_a_trade_count_once() -> None:
    j = journal()
    j.apply(BASE)
    assert j.apply(trade("E1", "4", "4")).new_execution
    assert not j.apply(trade("E1", "4", "4", poss_dup=True)).new_execution
    assert not j.apply(trade("E1", "4", "4")).new_execution
    assert view(j) == (OrderStatus.PARTIALLY_FILLED, Decimal(4), 1)


def test_the_same_exec_id_on_another_trading_day_is_another_trade() -> None:
    j = journal()
    j.apply(trade("E1", "4", "4"))
    j.apply(trade("E1", "6", "10", trade_date="20261202"))
    assert view(j) == (OrderStatus.FILLED, Decimal(10), 2)


def test_out_of_order_reports_never_move_an_order_back() -> None:
    j = journal()
    j.apply(trade("E2", "6", "10"))  # the last fill first
    j.apply(BASE)  # then the New
    j.apply(trade("E1", "4", "4"))  # then the first fill
    assert view(j) == (OrderStatus.FILLED, Decimal(10), 2)


def test_a_status_answer_adds_no_fill() -> None:
    j = journal()
    j.apply(replace(BASE, exec_type="I", exec_id="0", ord_status="2", cum_qty=Decimal(10)))
    # the counterparty says filled, but no trade has reached us yet: still filling
    assert view(j) == (OrderStatus.ACCEPTED, Decimal(0), 0)


def test_a_trade_cancel_and_a_correction_adjust_fills_and_positions() -> None:
    j = journal()
    j.apply(trade("E1", "4", "4"))
    j.apply(trade("E2", "6", "10"))
    j.apply(replace(BASE, exec_type="H", exec_id="E3", exec_ref_id="E1", ord_status="1",
                    cum_qty=Decimal(6)))  # fmt: skip
    assert view(j) == (OrderStatus.PARTIALLY_FILLED, Decimal(6), 2)  # E1 listed, busted
    j.apply(replace(BASE, exec_type="G", exec_id="E4", exec_ref_id="E2", ord_status="1",
                    last_qty=Decimal(5), last_px=Decimal("49.5"), cum_qty=Decimal(5)))  # fmt: skip
    [position] = positions(j.all_executions(), symbol_of={}, account="A")
    assert (position.qty, position.avg_price) == (Decimal(5), Decimal("49.5"))
    stored = j.order("og1")
    assert stored is not None
    entries = order_view(stored, j.executions("og1"), symbol="AAPL", account="A").executions
    # what the engine reads: E1 busted by E3, E2 corrected by E4 (keyed by trade date)
    assert [(e.exec_id[-2:], e.amend, e.amend_id[-2:], e.last_qty) for e in entries] == [
        ("E1", Amend.BUST, "E3", Decimal(4)),
        ("E2", Amend.CORRECT, "E4", Decimal(5)),
    ]


def test_a_journal_from_before_amendments_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.journal"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE executions (session TEXT NOT NULL, trade_date TEXT NOT NULL, "
        "exec_id TEXT NOT NULL, root TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, "
        "last_qty TEXT NOT NULL, last_px TEXT NOT NULL, commission TEXT NOT NULL, "
        "ts TEXT NOT NULL, busted INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY (session, trade_date, exec_id));"
    )
    old.close()
    j = Journal(path, "S")
    j.apply(trade("E1", "4", "4"))
    assert [e.amend_id for e in j.all_executions()] == [""]
    j.close()


def test_a_duplicate_refusal_leaves_the_order_alone() -> None:
    j = journal()
    j.apply(trade("E1", "10", "10"))
    applied = j.apply(replace(BASE, exec_type="8", ord_status="8", ord_rej_reason="6"))
    assert applied.duplicate
    assert view(j) == (OrderStatus.FILLED, Decimal(10), 1)
