"""The durable record of what the counterparty said: ClOrdID chains, each order's
latest state, and every execution, deduped by (session, trade date, ExecID).

Why a journal of our own: QuickFIX advances its incoming sequence number only after
``fromApp`` returns, so a report written here inside ``fromApp`` is never lost — a
process killed before the write gets the report again (``PossDupFlag=Y``) at the next
logon. A status answer (35=H → 35=8 150=I) says where an order stands but carries no
executions; the executions behind it are the ones journaled here.

``PossDupFlag`` means "maybe seen": the report is applied like any other, and the
ExecID key makes the second sighting of a trade change nothing. Reports arriving out
of order never move an order back: a final state stays final, and a report whose
CumQty is behind the order's is an old one.

A trade cancel (150=H) marks its execution (ExecRefID) busted, a trade correct (150=G)
gives it the corrected LastQty / LastPx (and Commission, when sent); both keep the
report's own ExecID as ``amend_id``. The execution stays in the order's list, so the
view tells the engine what to take back (``Execution.amend``). An order first heard of
in a report (no ClOrdID of ours) is kept as ``foreign``: the broker's own order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.brokers.fix.codec import (
    DUPLICATE_ORDER,
    ORDER_STATUS,
    TRADE_CANCEL,
    TRADE_CORRECT,
    UNKNOWN_ORDER,
    Report,
    Terms,
)
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chains (
    cl_ord_id TEXT PRIMARY KEY, root TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    root TEXT PRIMARY KEY, current TEXT NOT NULL, order_id TEXT NOT NULL DEFAULT '',
    symbol TEXT NOT NULL, side TEXT NOT NULL, qty TEXT NOT NULL, order_type TEXT,
    tif TEXT, limit_price TEXT, stop_price TEXT, status TEXT NOT NULL,
    cum_qty TEXT NOT NULL DEFAULT '0', reason TEXT NOT NULL DEFAULT '',
    raw TEXT NOT NULL DEFAULT '{}', seen INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS executions (
    session TEXT NOT NULL, trade_date TEXT NOT NULL, exec_id TEXT NOT NULL,
    root TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
    last_qty TEXT NOT NULL, last_px TEXT NOT NULL, commission TEXT NOT NULL,
    ts TEXT NOT NULL, busted INTEGER NOT NULL DEFAULT 0,
    amend_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (session, trade_date, exec_id)
);
CREATE INDEX IF NOT EXISTS executions_root ON executions (root);
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredExecution:
    exec_id: str  # "<trade date>:<ExecID>", unique per session
    symbol: str
    side: Side
    last_qty: Decimal
    last_px: Decimal
    commission: Decimal
    ts: str
    busted: bool = False
    #: the ExecID of the last trade cancel or correct applied to it ('' if none)
    amend_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredOrder:
    root: str
    current: str
    order_id: str
    terms: Terms
    status: OrderStatus
    cum_qty: Decimal
    reason: str
    raw: dict[str, Any]
    #: the counterparty has said something about it (a report or a status answer)
    seen: bool
    #: first heard of in a report: an order the broker (or a person there) placed
    foreign: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """What one report did to the journal."""

    root: str | None
    #: the report answered a repeated ClOrdID (103=6): the order itself is unchanged
    duplicate: bool = False
    #: a status answer "unknown order" (150=I, 103=5): the journal is left as it was
    unknown: bool = False
    new_execution: bool = False


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _txt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class Journal:
    """One session's journal in a SQLite file (``:memory:`` for tests)."""

    def __init__(self, path: Path | str, session: str) -> None:
        self.session = session
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(executions)")}
        if "amend_id" not in columns:  # a journal from before trade corrections kept it
            self._db.execute("ALTER TABLE executions ADD COLUMN amend_id TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ----------------------------------------------------------- our side

    def record_new(self, cl_ord_id: str, terms: Terms) -> None:
        """Before a 35=D goes out: the order, not yet seen by the counterparty."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO chains VALUES (?, ?, 'new', 0)", (cl_ord_id, cl_ord_id)
            )
            self._insert_order(cl_ord_id, cl_ord_id, terms, OrderStatus.SUBMITTED)

    def next_link(self, root: str, kind: str) -> str:
        """A fresh ClOrdID in ``root``'s chain (a cancel or a replace), recorded before
        it is sent so that the counterparty's answer finds its order after a restart."""
        with self._lock, self._db:
            (n,) = self._db.execute(
                "SELECT COALESCE(MAX(n), 0) + 1 FROM chains WHERE root = ?", (root,)
            ).fetchone()
            cl_ord_id = f"{root}.{n}"
            self._db.execute("INSERT INTO chains VALUES (?, ?, ?, ?)", (cl_ord_id, root, kind, n))
            return cl_ord_id

    def root_of(self, cl_ord_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT root FROM chains WHERE cl_ord_id = ?", (cl_ord_id,)
            ).fetchone()
            return None if row is None else str(row[0])

    # ------------------------------------------------------ their reports

    def apply(self, report: Report) -> Applied:
        """Apply one ExecutionReport; return what it changed."""
        with self._lock, self._db:
            root = self._resolve(report)
            if report.exec_type == "8" and report.ord_rej_reason == DUPLICATE_ORDER:
                return Applied(root=root, duplicate=True)
            if report.exec_type == ORDER_STATUS and report.ord_rej_reason == UNKNOWN_ORDER:
                return Applied(root=root, unknown=True)
            if root is None:
                root = report.cl_ord_id
                self._db.execute(
                    "INSERT OR IGNORE INTO chains VALUES (?, ?, 'foreign', 0)", (root, root)
                )
            stored = self._order(root)
            if stored is None:
                if report.side is None or report.order_qty is None:
                    return Applied(root=None)
                terms = Terms(
                    symbol=report.symbol,
                    side=report.side,
                    qty=report.order_qty,
                    order_type=report.order_type or OrderType.MARKET,
                    time_in_force=report.time_in_force or TimeInForce.DAY,
                    limit_price=report.limit_price,
                    stop_price=report.stop_price,
                )
                self._insert_order(root, report.cl_ord_id, terms, report.status)
                stored = self._order(root)
                assert stored is not None
            new_execution = self._apply_trade(root, stored, report)
            self._apply_state(root, stored, report)
            return Applied(root=root, new_execution=new_execution)

    def _resolve(self, report: Report) -> str | None:
        for cl_ord_id in (report.cl_ord_id, report.orig_cl_ord_id):
            if cl_ord_id:
                row = self._db.execute(
                    "SELECT root FROM chains WHERE cl_ord_id = ?", (cl_ord_id,)
                ).fetchone()
                if row is not None:
                    return str(row[0])
        if report.order_id:
            row = self._db.execute(
                "SELECT root FROM orders WHERE order_id = ?", (report.order_id,)
            ).fetchone()
            if row is not None:
                return str(row[0])
        return None

    def _apply_trade(self, root: str, stored: StoredOrder, report: Report) -> bool:
        day = report.trade_day()
        if report.is_trade:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO executions (session, trade_date, exec_id, root, symbol, "
                "side, last_qty, last_px, commission, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.session,
                    day,
                    report.exec_id,
                    root,
                    stored.terms.symbol,
                    stored.terms.side.value,
                    str(report.last_qty),
                    str(report.last_px),
                    str(report.commission),
                    report.transact_time,
                ),
            )
            return cursor.rowcount > 0
        if report.exec_type == TRADE_CANCEL and report.exec_ref_id:
            self._db.execute(
                "UPDATE executions SET busted = 1, amend_id = ? WHERE session = ? AND "
                "trade_date = ? AND exec_id = ?",
                (report.exec_id, self.session, day, report.exec_ref_id),
            )
        elif report.exec_type == TRADE_CORRECT and report.exec_ref_id:
            self._db.execute(
                "UPDATE executions SET last_qty = ?, last_px = ?, amend_id = ?, "
                "commission = CASE WHEN ? THEN ? ELSE commission END "
                "WHERE session = ? AND trade_date = ? AND exec_id = ? AND busted = 0",
                (
                    str(report.last_qty),
                    str(report.last_px),
                    report.exec_id,
                    int(report.commission != 0),
                    str(report.commission),
                    self.session,
                    day,
                    report.exec_ref_id,
                ),
            )
        return False

    def _apply_state(self, root: str, stored: StoredOrder, report: Report) -> None:
        correction = report.exec_type in (TRADE_CANCEL, TRADE_CORRECT)
        behind = report.cum_qty < stored.cum_qty and not correction
        regress = stored.status.is_terminal and not report.status.is_terminal and not correction
        if report.exec_type == "I" and not stored.seen:
            behind = regress = False  # the first word on an order we only sent
        status, cum_qty = stored.status, stored.cum_qty
        if not (behind or regress):
            status, cum_qty = report.status, report.cum_qty
        terms = stored.terms
        current = stored.current
        if report.exec_type == "5" and report.cl_ord_id:  # replaced: the chain moves on
            current = report.cl_ord_id
            terms = Terms(
                symbol=terms.symbol,
                side=terms.side,
                qty=report.order_qty or terms.qty,
                order_type=report.order_type or terms.order_type,
                time_in_force=report.time_in_force or terms.time_in_force,
                limit_price=report.limit_price if report.limit_price is not None else None,
                stop_price=report.stop_price,
            )
        reason = report.reason if status is OrderStatus.REJECTED else stored.reason
        self._db.execute(
            "UPDATE orders SET current = ?, order_id = ?, qty = ?, order_type = ?, tif = ?, "
            "limit_price = ?, stop_price = ?, status = ?, cum_qty = ?, reason = ?, raw = ?, "
            "seen = 1 WHERE root = ?",
            (
                current,
                report.order_id or stored.order_id,
                str(terms.qty),
                terms.order_type.value,
                terms.time_in_force.value,
                _txt(terms.limit_price),
                _txt(terms.stop_price),
                status.value,
                str(cum_qty),
                reason,
                json.dumps(report.to_raw()),
                root,
            ),
        )

    # --------------------------------------------------------------- reads

    def _insert_order(self, root: str, current: str, terms: Terms, status: OrderStatus) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO orders (root, current, symbol, side, qty, order_type, tif, "
            "limit_price, stop_price, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                root,
                current,
                terms.symbol,
                terms.side.value,
                str(terms.qty),
                terms.order_type.value,
                terms.time_in_force.value,
                _txt(terms.limit_price),
                _txt(terms.stop_price),
                status.value,
            ),
        )

    def _order(self, root: str) -> StoredOrder | None:
        row = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE root = ?",
            (root,),
        ).fetchone()
        return None if row is None else _stored(row)

    def order(self, cl_ord_id: str) -> StoredOrder | None:
        """The order whose chain holds ``cl_ord_id``."""
        with self._lock:
            root = self.root_of(cl_ord_id)
            return None if root is None else self._order(root)

    def open_orders(self) -> list[StoredOrder]:
        finals = tuple(s.value for s in OrderStatus if s.is_terminal)
        marks = ",".join("?" * len(finals))
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status NOT IN ({marks}) ORDER BY rowid",
                finals,
            ).fetchall()
        return [_stored(r) for r in rows]

    def executions(self, root: str) -> list[StoredExecution]:
        """The order's executions, busted ones included (marked)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE root = ? ORDER BY rowid",
                (root,),
            ).fetchall()
        return [_execution(r) for r in rows]

    def all_executions(self) -> list[StoredExecution]:
        """Every execution of the session that stands (busted ones left out)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE busted = 0 ORDER BY rowid"
            ).fetchall()
        return [_execution(r) for r in rows]


_EXECUTION_COLUMNS = (
    "trade_date, exec_id, symbol, side, last_qty, last_px, commission, ts, busted, amend_id"
)
_ORDER_COLUMNS = (
    "root, current, order_id, symbol, side, qty, order_type, tif, limit_price, stop_price, "
    "status, cum_qty, reason, raw, seen, "
    "(SELECT kind FROM chains WHERE chains.cl_ord_id = orders.root) = 'foreign'"
)


def _execution(row: tuple[Any, ...]) -> StoredExecution:
    day, exec_id, symbol, side, qty, px, commission, ts, busted, amend_id = row
    return StoredExecution(
        exec_id=f"{day}:{exec_id}",
        symbol=symbol,
        side=Side(side),
        last_qty=Decimal(qty),
        last_px=Decimal(px),
        commission=Decimal(commission),
        ts=ts,
        busted=bool(busted),
        amend_id=f"{day}:{amend_id}" if amend_id else "",
    )


def _stored(row: tuple[Any, ...]) -> StoredOrder:
    (root, current, order_id, symbol, side, qty, kind, tif, limit, stop, status, cum, reason,
     raw, seen, foreign) = row  # fmt: skip
    return StoredOrder(
        root=root,
        current=current,
        order_id=order_id,
        terms=Terms(
            symbol=symbol,
            side=Side(side),
            qty=Decimal(qty),
            order_type=OrderType(kind or OrderType.MARKET.value),
            time_in_force=TimeInForce(tif or TimeInForce.DAY.value),
            limit_price=_dec(limit),
            stop_price=_dec(stop),
        ),
        status=OrderStatus(status),
        cum_qty=Decimal(cum),
        reason=reason,
        raw=json.loads(raw),
        seen=bool(seen),
        foreign=bool(foreign),
    )
