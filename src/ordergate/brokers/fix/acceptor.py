"""A FIX 4.4 counterparty for tests and trials: a QuickFIX acceptor over :mod:`venue`.

It matches like the simulated exchange (fills, partial fills, rejects, a repeated
ClOrdID refused with 103=6, status requests, cancel / replace) and injects faults:

- ``drop_session`` — cut the session now (``lose_next_reply``: after taking the next
  order, before its reports: they wait in the acceptor's store and are resent, PossDup,
  when the initiator logs on again);
- ``refuse_logons`` — turn logons away (the session stays down);
- ``delay_s`` — hold the next order's reports back that long;
- ``duplicate`` — send every report twice, the second with or without PossDupFlag;
- ``reorder`` — send each batch of reports newest first;
- ``hide_s`` — answer status requests for the next order "unknown order" for a while;
- ``bust`` / ``correct`` — cancel (150=H) or correct (150=G) a trade it reported, with
  ExecRefID naming it.

``ordergate fix-acceptor`` runs it. **QuickFIX 1.16 binds every interface** (it has
no accept address setting): run it where only trusted networks reach the port.
"""

from __future__ import annotations

import json
import queue
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import quickfix as fix
import structlog

from ordergate.brokers.fix import codec
from ordergate.brokers.fix.session import masked
from ordergate.brokers.fix.sessionfile import shipped_dictionary
from ordergate.brokers.fix.venue import Book, Event, Refused, event

log = structlog.get_logger("ordergate.brokers.fix.acceptor")

BINDS_EVERY_INTERFACE = (
    "QuickFIX 1.16 binds every network interface (there is no accept address setting): "
    "anyone who reaches this port can log on as the configured TargetCompID"
)


@dataclass(slots=True)
class Faults:
    parts: int = 1
    #: how far apart the reports of an order filled in parts go out (a market trading
    #: through it over time, rather than in one burst)
    part_gap_s: float = 0.25
    reject: str | None = None
    lose_reply: bool = False
    hide_s: float = 0.0
    cancel_race: bool = False
    delay_s: float = 0.0
    duplicate: bool = False
    duplicate_poss_dup: bool = True
    reorder: bool = False
    refuse_logons: bool = False


def acceptor_settings(
    directory: Path, *, port: int, sender: str, target: str, heartbeat: int = 30
) -> Path:
    """Write the acceptor's QuickFIX settings file (a FileStore in ``directory``)."""
    directory.mkdir(parents=True, exist_ok=True)
    dictionary = shipped_dictionary()
    lines = [
        "[DEFAULT]",
        "ConnectionType=acceptor",
        f"SocketAcceptPort={port}",
        f"FileStorePath={directory / 'store'}",
        "StartTime=00:00:00",
        "EndTime=00:00:00",
        f"HeartBtInt={heartbeat}",
        "ResetOnLogon=N",
        "PersistMessages=Y",
        f"UseDataDictionary={'Y' if dictionary else 'N'}",
        *([f"DataDictionary={dictionary}"] if dictionary else []),
        "[SESSION]",
        "BeginString=FIX.4.4",
        f"SenderCompID={sender}",
        f"TargetCompID={target}",
    ]
    path = directory / "acceptor.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


class Counterparty(fix.Application):  # type: ignore[misc]
    """The acceptor's callbacks: FIX in, :class:`Book` calls, ExecutionReports out."""

    def __init__(self, book: Book, *, password: str | None = None) -> None:
        super().__init__()
        self.book = book
        self.password = password
        self.faults = Faults()
        self.session_id: fix.SessionID | None = None
        self.logged_on = threading.Event()
        #: what came in, in order: MsgType, ClOrdID, OrigClOrdID, PossDupFlag, MaxFloor (tests)
        self.received: list[dict[str, str | None]] = []
        self._lock = threading.Lock()
        self._reports = 0
        self._work: queue.Queue[fix.Message | None] = queue.Queue()
        self._worker = threading.Thread(target=self._serve, name="fix-acceptor", daemon=True)
        self._worker.start()

    # --------------------------------------------------------- callbacks

    # QuickFIX calls these on its own thread, through C++: an exception escaping one
    # (a bug, a warning turned error) would unwind through QuickFIX. Each is guarded;
    # only RejectLogon, QuickFIX's own way to refuse a logon, goes through.
    def onCreate(self, session_id: fix.SessionID) -> None:
        _guard(self._onCreate, session_id)

    def onLogon(self, session_id: fix.SessionID) -> None:
        _guard(self._onLogon, session_id)

    def onLogout(self, session_id: fix.SessionID) -> None:
        _guard(self._onLogout, session_id)

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        _guard(self._toAdmin, message, session_id)

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        _guard(self._fromAdmin, message, session_id)

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        _guard(self._toApp, message, session_id)

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        _guard(self._fromApp, message, session_id)

    def _onCreate(self, session_id: fix.SessionID) -> None:
        self.session_id = session_id

    def _onLogon(self, session_id: fix.SessionID) -> None:
        self.session_id = session_id
        self.logged_on.set()

    def _onLogout(self, session_id: fix.SessionID) -> None:
        self.logged_on.clear()

    def _toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        log.debug("fix.acceptor.out", message=masked(message.toString()))

    def _note(self, message: fix.Message) -> None:
        with self._lock:
            self.received.append(
                {
                    "35": codec.msg_type(message),
                    "11": codec.field(message, codec.CL_ORD_ID),
                    "41": codec.field(message, codec.ORIG_CL_ORD_ID),
                    "43": codec.header(message, codec.POSS_DUP),
                    "111": codec.field(message, codec.MAX_FLOOR),
                }
            )

    def _fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        self._note(message)
        if codec.msg_type(message) == "A":
            if self.faults.refuse_logons:
                raise fix.RejectLogon("logons are refused (fault)")
            if self.password is not None and codec.field(message, codec.PASSWORD) != self.password:
                raise fix.RejectLogon("bad password")

    def _toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        log.debug("fix.acceptor.out", message=masked(message.toString()))

    def _fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        """Hand the request to the worker thread: nothing calls back into QuickFIX
        (sending, disconnecting) from inside its own callback, while it holds the
        session's lock, and a slow fault (a delay) never holds up the session."""
        self._note(message)
        self._work.put(fix.Message(message))

    def _serve(self) -> None:
        while True:
            message = self._work.get()
            if message is None:
                return
            _guard(self._handle, message)

    def _handle(self, message: fix.Message) -> None:
        kind = codec.msg_type(message)
        handler = {"D": self._new, "F": self._cancel, "G": self._replace, "H": self._status}.get(
            kind
        )
        if handler is None:
            self._business_reject(message, "3", f"MsgType {kind} is not supported")
            return
        handler(message)

    # ---------------------------------------------------------- requests

    def _terms(self, message: fix.Message) -> dict[str, Any]:
        price = codec.field(message, codec.PRICE)
        stop = codec.field(message, codec.STOP_PX)
        return {
            "account": codec.field(message, codec.ACCOUNT) or "",
            "symbol": codec.field(message, codec.SYMBOL) or "",
            "side": codec.field(message, codec.SIDE) or "1",
            "qty": Decimal(codec.field(message, codec.ORDER_QTY) or "0"),
            "ord_type": codec.field(message, codec.ORD_TYPE) or "1",
            "tif": codec.field(message, codec.TIF) or "0",
            "price": None if price is None else Decimal(price),
            "stop_px": None if stop is None else Decimal(stop),
        }

    def _new(self, message: fix.Message) -> None:
        cl_ord_id = codec.field(message, codec.CL_ORD_ID) or ""
        faults, self.faults = (
            self.faults,
            Faults(
                duplicate=self.faults.duplicate,
                duplicate_poss_dup=self.faults.duplicate_poss_dup,
                reorder=self.faults.reorder,
                refuse_logons=self.faults.refuse_logons,
            ),
        )
        terms = self._terms(message)
        if faults.reject is not None:
            self._emit(self.book.reject(cl_ord_id, faults.reject, **terms), faults)
            return
        events = self.book.new(
            cl_ord_id,
            parts=faults.parts,
            cancel_race=faults.cancel_race,
            hidden_until=time.monotonic() + faults.hide_s if faults.hide_s else 0.0,
            **terms,
        )
        if faults.lose_reply:
            self.drop_session()
        self._emit(events, faults)

    def _cancel(self, message: fix.Message) -> None:
        cl_ord_id = codec.field(message, codec.CL_ORD_ID) or ""
        orig = codec.field(message, codec.ORIG_CL_ORD_ID) or ""
        try:
            self._emit(self.book.cancel(cl_ord_id, orig), self.faults)
        except Refused as refused:
            self._emit(refused.events, self.faults)
            self._cancel_reject(cl_ord_id, orig, refused, "1")

    def _replace(self, message: fix.Message) -> None:
        cl_ord_id = codec.field(message, codec.CL_ORD_ID) or ""
        orig = codec.field(message, codec.ORIG_CL_ORD_ID) or ""
        terms = self._terms(message)
        try:
            self._emit(
                self.book.replace(cl_ord_id, orig, terms["qty"], terms["price"]), self.faults
            )
        except Refused as refused:
            self._cancel_reject(cl_ord_id, orig, refused, "2")

    def _status(self, message: fix.Message) -> None:
        cl_ord_id = codec.field(message, codec.CL_ORD_ID) or ""
        order = self.book.find(cl_ord_id)
        if order is None or order.hidden_until > time.monotonic():
            report = self._report_base("NONE", cl_ord_id, "0", "I", "8")
            report.setField(codec.SYMBOL, codec.field(message, codec.SYMBOL) or "NA")
            report.setField(codec.SIDE, codec.field(message, codec.SIDE) or "1")
            for tag in (codec.LEAVES_QTY, codec.CUM_QTY, codec.AVG_PX):
                report.setField(tag, "0")
            report.setField(codec.ORD_REJ_REASON, codec.UNKNOWN_ORDER)
            report.setField(codec.TEXT, f"unknown order {cl_ord_id}")
            self._send(report)
            return
        self._send(self._report(event(order, "I", cl_ord_id), exec_id="0"))

    # ------------------------------------------------------------ sending

    def _report_base(
        self, order_id: str, cl_ord_id: str, exec_id: str, exec_type: str, status: str
    ) -> fix.Message:
        report = fix.Message()
        report.getHeader().setField(fix.BeginString(codec.BEGIN_STRING))
        report.getHeader().setField(fix.MsgType("8"))
        report.setField(codec.ORDER_ID, order_id)
        report.setField(codec.CL_ORD_ID, cl_ord_id)
        report.setField(codec.EXEC_ID, exec_id)
        report.setField(codec.EXEC_TYPE, exec_type)
        report.setField(codec.ORD_STATUS, status)
        report.setField(codec.TRANSACT_TIME, _now())
        return report

    def _report(self, event: Event, exec_id: str | None = None) -> fix.Message:
        """The ExecutionReport of ``event``, as of its moment."""
        order = event.order
        if event.fill is not None:
            exec_id = event.fill.exec_id
        report = self._report_base(
            order.order_id, event.cl_ord_id, exec_id or self._exec_id(), event.exec_type,
            event.status,
        )  # fmt: skip
        if event.orig_cl_ord_id:
            report.setField(codec.ORIG_CL_ORD_ID, event.orig_cl_ord_id)
        if order.account:
            report.setField(codec.ACCOUNT, order.account)
        report.setField(codec.SYMBOL, order.symbol)
        report.setField(codec.SIDE, order.side)
        report.setField(codec.ORDER_QTY, codec.text(event.qty))
        report.setField(codec.ORD_TYPE, order.ord_type)
        report.setField(codec.TIF, order.tif)
        if event.price is not None:
            report.setField(codec.PRICE, codec.text(event.price))
        if event.fill is not None:
            report.setField(codec.LAST_QTY, codec.text(event.fill.qty))
            report.setField(codec.LAST_PX, codec.text(event.fill.px))
            report.setField(codec.COMMISSION, codec.text(event.fill.commission))
            report.setField(13, "3")  # CommType: absolute
            report.setField(codec.TRADE_DATE, self.book.day)
        report.setField(codec.LEAVES_QTY, codec.text(event.leaves))
        report.setField(codec.CUM_QTY, codec.text(event.cum))
        report.setField(codec.AVG_PX, codec.text(event.avg))
        if event.exec_ref_id:
            report.setField(codec.EXEC_REF_ID, event.exec_ref_id)
        if event.text:
            report.setField(codec.TEXT, event.text)
        if event.rej_reason:
            report.setField(codec.ORD_REJ_REASON, event.rej_reason)
        return report

    def _exec_id(self) -> str:
        """An ExecID for a report that carries no trade (a trade's is the book's)."""
        with self._lock:
            self._reports += 1
            return f"S{self._reports}"

    def _emit(self, events: list[Event], faults: Faults) -> None:
        reports = [self._report(e) for e in events]
        if faults.reorder:
            reports.reverse()
        if faults.delay_s:
            timer = threading.Timer(faults.delay_s, self._send_all, (reports, faults))
            timer.daemon = True
            timer.start()
            return
        self._send_all(reports, faults)

    def _send_all(self, reports: list[fix.Message], faults: Faults) -> None:
        for index, report in enumerate(reports):
            if index and faults.parts > 1 and faults.part_gap_s:
                time.sleep(faults.part_gap_s)
            self._send(report)
            if faults.duplicate:
                again = fix.Message(report)
                if faults.duplicate_poss_dup:
                    again.getHeader().setField(codec.POSS_DUP, "Y")
                    again.getHeader().setField(122, _now())  # OrigSendingTime
                self._send(again)

    def _send(self, message: fix.Message) -> None:
        if self.session_id is not None:
            fix.Session.sendToTarget(message, self.session_id)

    def _cancel_reject(self, cl_ord_id: str, orig: str, refused: Refused, to: str) -> None:
        reject = fix.Message()
        reject.getHeader().setField(fix.BeginString(codec.BEGIN_STRING))
        reject.getHeader().setField(fix.MsgType("9"))
        reject.setField(codec.ORDER_ID, refused.order.order_id if refused.order else "NONE")
        reject.setField(codec.CL_ORD_ID, cl_ord_id)
        reject.setField(codec.ORIG_CL_ORD_ID, orig)
        reject.setField(codec.ORD_STATUS, refused.order.status if refused.order else "8")
        reject.setField(codec.CXL_REJ_RESPONSE_TO, to)
        reject.setField(codec.CXL_REJ_REASON, refused.reason if refused.reason != "99" else "99")
        reject.setField(codec.TEXT, refused.text)
        self._send(reject)

    def _business_reject(self, message: fix.Message, reason: str, text: str) -> None:
        reject = fix.Message()
        reject.getHeader().setField(fix.BeginString(codec.BEGIN_STRING))
        reject.getHeader().setField(fix.MsgType("j"))
        seq = codec.header(message, codec.MSG_SEQ_NUM)
        if seq:
            reject.setField(codec.REF_SEQ_NUM, seq)
        reject.setField(codec.REF_MSG_TYPE, codec.msg_type(message))
        reject.setField(codec.BUSINESS_REJECT_REASON, reason)
        reject.setField(codec.TEXT, text)
        self._send(reject)

    # --------------------------------------------------- controls (tests)

    def close(self) -> None:
        self._work.put(None)
        self._worker.join(5)

    def trade(self, cl_ord_id: str) -> None:
        self._emit(self.book.trade(cl_ord_id), self.faults)

    def bust(self, cl_ord_id: str, exec_id: str) -> None:
        """Cancel the trade ``exec_id`` of the order (a 35=8 150=H with ExecRefID)."""
        self._emit(self.book.bust(cl_ord_id, exec_id), self.faults)

    def correct(self, cl_ord_id: str, exec_id: str, qty: Decimal, px: Decimal) -> None:
        """Correct the trade ``exec_id`` to ``qty`` at ``px`` (a 35=8 150=G with ExecRefID)."""
        self._emit(self.book.correct(cl_ord_id, exec_id, qty, px), self.faults)

    def originate(self, cl_ord_id: str, account: str, symbol: str, side: str, qty: Decimal) -> None:
        """An order placed on the counterparty's side (another desk): reported to the
        session like ours (a drop copy)."""
        terms: dict[str, Any] = {"account": account, "symbol": symbol, "side": side, "qty": qty,
                 "ord_type": "1", "tif": "0", "price": None, "stop_px": None}  # fmt: skip
        self._emit(self.book.new(cl_ord_id, **terms), self.faults)

    def drop_session(self) -> None:
        if self.session_id is None:
            return
        session = fix.Session.lookupSession(self.session_id)
        if session is not None:
            session.disconnect()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


class Acceptor:
    """A running acceptor: the QuickFIX engine plus its :class:`Counterparty`."""

    def __init__(
        self,
        port: int,
        *,
        marks: dict[str, Decimal],
        sender: str = "ACCEPTOR",
        target: str = "ORDERGATE",
        directory: Path | None = None,
        commission: Decimal = Decimal(0),
        password: str | None = None,
        state_file: Path | None = None,
    ) -> None:
        self.directory = directory or Path(tempfile.mkdtemp(prefix="og-fix-acceptor-"))
        self.port = port
        config = acceptor_settings(self.directory, port=port, sender=sender, target=target)
        self.book = Book(marks, commission=commission, state_file=state_file)
        self.counterparty = Counterparty(self.book, password=password)
        # QuickFIX keeps references, not copies: everything it is given must outlive it
        self._settings = fix.SessionSettings(str(config))
        self._store = fix.FileStoreFactory(self._settings)
        self._engine: Any = fix.ThreadedSocketAcceptor(
            self.counterparty, self._store, self._settings
        )

    def start(self) -> None:
        self._engine.start()

    def stop(self) -> None:
        """Stop and free the engine now (QuickFIX registers sessions process-wide)."""
        if self._engine is not None:
            self._engine.stop()
            self._engine = None
            self.counterparty.close()


def parse_marks(values: list[str]) -> dict[str, Decimal]:
    """``["AAPL=100", …]`` as marks."""
    marks = {}
    for item in values:
        symbol, _, price = item.partition("=")
        marks[symbol.upper()] = Decimal(price)
    return marks


def serve(acceptor: Acceptor) -> None:
    """Run until interrupted; print one JSON line once listening."""
    acceptor.start()
    print(json.dumps({"listening": acceptor.port}), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        acceptor.stop()


def _guard(callback: Any, *args: Any) -> None:
    try:
        callback(*args)
    except fix.RejectLogon:
        raise
    except Exception:
        log.exception("fix.callback_failed", callback=callback.__name__)
