"""The QuickFIX application of the order session: what comes in, what waits for it.

QuickFIX owns the socket, logon, heartbeats, sequence numbers, resends and gap fills;
its callbacks run on its own thread. This module:

- sets Username / Password (553 / 554) on the Logon in ``toAdmin``, from secrets, and
  logs every message with them (and the account) masked; QuickFIX itself is given no
  log, so it writes none;
- journals every ExecutionReport inside ``fromApp`` (before QuickFIX counts it as
  received), then wakes whoever waits for it and tells ``on_change``, which takes the
  order's view at once and queues it for the stream listeners, called by a dispatcher
  thread (never QuickFIX's thread);
- fails every request still waiting when the session goes down (its outcome is
  unknown), and after every logon asks the status (35=H) of each open order.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import quickfix as fix
import structlog
from pydantic import SecretStr

from ordergate.brokers.fix import codec
from ordergate.brokers.fix.codec import CancelReject, Report
from ordergate.brokers.fix.journal import Journal

log = structlog.get_logger("ordergate.brokers.fix")

#: how many of our last messages a session Reject can still be matched to
_SENT_KEPT = 10_000
_MASKED = re.compile(r"(?:(?<=\x01)|^)(1|553|554|96)=[^\x01]*")


def masked(raw: str) -> str:
    """A FIX message for a log: credentials (553, 554, 96) and the account (1) masked,
    SOH shown as ``|``."""
    return _MASKED.sub(lambda m: f"{m.group(1)}=***", raw).replace("\x01", "|")


@dataclass(frozen=True, slots=True, kw_only=True)
class Incoming:
    """One application answer, as waiters match it."""

    cl_ord_id: str
    report: Report | None = None
    cancel_reject: CancelReject | None = None
    #: a session Reject or a BusinessMessageReject of the message we sent
    refused: str | None = None
    duplicate: bool = False
    unknown: bool = False
    #: the session went down while waiting: the outcome is unknown
    lost: bool = False


@dataclass(slots=True)
class _Waiter:
    match: Callable[[Incoming], bool]
    event: threading.Event
    answer: Incoming | None = None


class OrderSession(fix.Application):  # type: ignore[misc]
    """The callbacks QuickFIX calls, and the waiters they wake."""

    def __init__(
        self,
        journal: Journal,
        *,
        username: SecretStr | None,
        password: SecretStr | None,
        on_change: Callable[[str], None],
        on_logon: Callable[[], None],
    ) -> None:
        super().__init__()
        self.journal = journal
        self._username = username
        self._password = password
        self._on_change = on_change
        self._on_logon = on_logon
        self._lock = threading.Lock()
        self._waiters: list[_Waiter] = []
        #: our MsgSeqNum → the ClOrdID it carried (a session Reject names the seq)
        self._sent: dict[int, str] = {}
        self.logged_on = threading.Event()
        self.logons = 0
        #: what was sent, by MsgType (tests count 35=H after a reconnect)
        self.sent_types: dict[str, int] = {}
        self.dispatch: queue.Queue[Callable[[], None] | None] = queue.Queue()

    # ----------------------------------------------------------- waiting

    def expect(self, match: Callable[[Incoming], bool]) -> _Waiter:
        waiter = _Waiter(match, threading.Event())
        with self._lock:
            self._waiters.append(waiter)
        return waiter

    def forget(self, waiter: _Waiter) -> None:
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wake(self, incoming: Incoming) -> None:
        with self._lock:
            woken = [w for w in self._waiters if incoming.lost or w.match(incoming)]
            for waiter in woken:
                self._waiters.remove(waiter)
        for waiter in woken:
            waiter.answer = incoming
            waiter.event.set()

    # --------------------------------------------------- QuickFIX callbacks

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
        log.info("fix.session_created", session=session_id.toString())

    def _onLogon(self, session_id: fix.SessionID) -> None:
        self.logons += 1
        self.logged_on.set()
        log.info("fix.logon", session=session_id.toString(), logons=self.logons)
        self.dispatch.put(self._on_logon)

    def _onLogout(self, session_id: fix.SessionID) -> None:
        was_on = self.logged_on.is_set()
        self.logged_on.clear()
        if was_on:
            log.warning("fix.logout", session=session_id.toString())
        self._wake(Incoming(cl_ord_id="", lost=True))

    def _toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        if codec.msg_type(message) == "A":
            if self._username is not None:
                message.setField(codec.USERNAME, self._username.get_secret_value())
            if self._password is not None:
                message.setField(codec.PASSWORD, self._password.get_secret_value())
        log.debug("fix.out", message=masked(message.toString()))

    def _fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        log.debug("fix.in", message=masked(message.toString()))
        if codec.msg_type(message) == "3":
            self._refused(message)

    def _toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        kind = codec.msg_type(message)
        seq = codec.header(message, codec.MSG_SEQ_NUM)
        cl_ord_id = codec.field(message, codec.CL_ORD_ID)
        with self._lock:
            self.sent_types[kind] = self.sent_types.get(kind, 0) + 1
            if seq and cl_ord_id:
                self._sent[int(seq)] = cl_ord_id
                if len(self._sent) > _SENT_KEPT:  # a reject names a recent message
                    del self._sent[min(self._sent)]
        log.debug("fix.out", message=masked(message.toString()))

    def _fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        log.debug("fix.in", message=masked(message.toString()))
        kind = codec.msg_type(message)
        if kind == "8":
            report = codec.parse_report(message)
            applied = self.journal.apply(report)  # durable before QuickFIX counts it
            self._wake(
                Incoming(
                    cl_ord_id=report.cl_ord_id,
                    report=report,
                    duplicate=applied.duplicate,
                    unknown=applied.unknown,
                )
            )
            if applied.root is not None and not (applied.duplicate or applied.unknown):
                self._on_change(applied.root)
        elif kind == "9":
            reject = codec.parse_cancel_reject(message)
            self._wake(Incoming(cl_ord_id=reject.cl_ord_id, cancel_reject=reject))
        elif kind == "j":
            self._refused(message)

    def _refused(self, message: fix.Message) -> None:
        ref_seq, reason = codec.reject_reason(message)
        ref_id = codec.field(message, 379)  # BusinessRejectRefID
        with self._lock:
            cl_ord_id = self._sent.get(ref_seq) or ref_id or ""
        log.warning("fix.refused", ref_seq=ref_seq, reason=reason)
        if cl_ord_id:
            self._wake(Incoming(cl_ord_id=cl_ord_id, refused=reason))


def _guard(callback: Any, *args: Any) -> None:
    try:
        callback(*args)
    except fix.RejectLogon:
        raise
    except Exception:
        log.exception("fix.callback_failed", callback=callback.__name__)
