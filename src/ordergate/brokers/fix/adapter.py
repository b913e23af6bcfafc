"""``FixBroker``: the broker port over one FIX 4.4 order session (QuickFIX).

Every call is synchronous for the engine and waits, with a timeout, for the answer
QuickFIX's thread delivers:

- **submit** (35=D): nothing is sent unless the session is logged on
  (:class:`BrokerUnavailable`: provably not received); the first ExecutionReport is
  the receipt; a rejection (150=8) is :class:`BrokerRejected` with the reason; a
  repeated ClOrdID (103=6) means the order exists, so it is looked up and returned; no
  answer in time, or the session going down meanwhile, is :class:`BrokerTimeout` —
  unknown until a report or a status request settles it (QuickFIX never replays it:
  ``PersistMessages=N``);
- **cancel** (35=F) and **modify** (35=G) carry a new ClOrdID with the chain's current
  one as OrigClOrdID; OrderCancelReject (35=9) is :class:`BrokerRejected`;
- **fetch_order** asks OrderStatusRequest (35=H) and builds the order from the
  journal's executions; "unknown order" (103=5) is ``None``;
- positions and cash are the session's own executions (a FIX order session carries no
  balances); the account is the configured one (tag 1).
"""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import quickfix as fix
import structlog

from ordergate.brokers.base import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    OrderListener,
    OrderRequest,
)
from ordergate.brokers.fix import codec
from ordergate.brokers.fix.codec import Terms
from ordergate.brokers.fix.journal import Journal, StoredOrder
from ordergate.brokers.fix.session import Incoming, OrderSession
from ordergate.brokers.fix.sessionfile import SessionFile, read_session_file
from ordergate.brokers.fix.settings import FixSettings
from ordergate.brokers.fix.views import cash_spent, order_view, positions
from ordergate.domain.capabilities import (
    BrokerCapabilities,
    ClientIdDedupe,
    Lookup,
    Modify,
    request_problems,
)
from ordergate.domain.enums import OrderType, Side, TimeInForce
from ordergate.domain.errors import (
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
    ConfigError,
    InvalidIntent,
)
from ordergate.resilience.crashpoint import crashpoint

log = structlog.get_logger("ordergate.brokers.fix")


def fix_capabilities(block: FixSettings) -> BrokerCapabilities:
    """What a FIX counterparty guarantees is configured, not discovered: a venue that
    refuses a repeated ClOrdID for as long as it keeps the order dedupes ALWAYS (the
    adapter turns the 103=6 into the existing order); one whose "unknown order" is
    proof may claim conclusive misses. ClOrdID (11) is a String: any printable ASCII;
    the adapter appends ``.n`` for the chain's cancel and replace ids."""
    return BrokerCapabilities(
        dedupe=ClientIdDedupe.ALWAYS if block.dedupe else ClientIdDedupe.NEVER,
        dedupe_window=(
            None if block.dedupe_window_h is None else timedelta(hours=block.dedupe_window_h)
        ),
        lookup=Lookup.BY_CLIENT_ID if block.status_requests else Lookup.SCAN,
        lookup_miss_conclusive=block.status_requests and block.unknown_order_conclusive,
        client_id_max_length=60,
        client_id_alphabet=r"[\x21-\x7e]+",
        order_types=frozenset(OrderType),
        time_in_force=frozenset(TimeInForce),
        modify=Modify.REPLACE,
        stream_replays=True,  # QuickFIX resends what the session missed (sequence gaps)
        display_qty=True,  # MaxFloor (111) on the NewOrderSingle
    )


class FixBroker:
    """``BrokerAdapter`` over a QuickFIX initiator."""

    adapter_id = "fix"

    def __init__(
        self, block: FixSettings, *, timeout: float = 2.0, journal_path: Path | None = None
    ) -> None:
        if block.config is None:
            raise ConfigError("the fix adapter needs ORDERGATE_FIX_CONFIG (a QuickFIX file)")
        self.block = block
        self.timeout = timeout
        self.capabilities = fix_capabilities(block)
        self.file: SessionFile = read_session_file(block.config)
        path = journal_path or block.journal
        if path is None:
            base = self.file.store or block.config.parent
            path = base / f"{self.file.name.replace(':', '_').replace('>', '')}.journal"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(path, self.file.name)
        self._symbol_of = {theirs: ours for ours, theirs in block.symbols.items()}
        self._listeners: list[OrderListener] = []
        #: views pushed before anyone listened (reports resent at the first logon, which
        #: happens before the engine subscribes): handed to the first listener
        self._unheard: list[BrokerOrder] = []
        self._hearing = threading.Lock()
        self.session = OrderSession(
            self.journal,
            username=block.username,
            password=block.password,
            on_change=self._changed,
            on_logon=self._resync,
        )
        # QuickFIX keeps references, not copies: everything it is given must outlive it
        self._store: Any = (
            fix.FileStoreFactory(self.file.settings)
            if self.file.store is not None
            else fix.MemoryStoreFactory()
        )
        self._initiator: Any = fix.ThreadedSocketInitiator(
            self.session, self._store, self.file.settings
        )
        self._dispatcher = threading.Thread(target=self._dispatch, name="fix-dispatch", daemon=True)
        self._dispatcher.start()
        self._started = False

    # -------------------------------------------------------- lifecycle

    def start(self, wait: float | None = None) -> bool:
        """Start the initiator; wait (``logon_timeout_s``) for the first logon. QuickFIX
        keeps reconnecting on its own; until it is logged on, submits are refused."""
        if not self._started:
            self._initiator.start()
            self._started = True
        logged_on = self.session.logged_on.wait(
            self.block.logon_timeout_s if wait is None else wait
        )
        if not logged_on:
            log.warning("fix.not_logged_on", session=self.file.name)
        return logged_on

    def close(self, *, force: bool = False) -> None:
        """Log out (``force``: without waiting for the counterparty's Logout) and free
        the initiator now: QuickFIX registers sessions process-wide by SessionID, so a
        stopped initiator left for the garbage collector would hold the ID a new one (a
        restart) needs."""
        if self._initiator is None:
            return
        if self._started:
            self._initiator.stop(force)
            self._started = False
        self._initiator = None
        self.session.dispatch.put(None)
        self._dispatcher.join(5)
        self.journal.close()

    @property
    def stream_up(self) -> bool:
        return self.session.logged_on.is_set()

    @property
    def dedupes_client_order_id(self) -> bool:
        return self.capabilities.dedupes_client_order_id

    # ---------------------------------------------------------- the port

    def submit(self, request: OrderRequest) -> BrokerOrder:
        self._require_logon("submit")
        problems = request_problems(self.capabilities, request)
        if problems:
            raise InvalidIntent("order", "; ".join(problems))
        for name, value in (("qty", request.qty), ("limit_price", request.limit_price)):
            codec.check_decimal(name, value)
        codec.check_decimal("stop_price", request.stop_price)
        codec.check_decimal("display_qty", request.display_qty)
        cid = request.client_order_id
        terms = Terms(
            symbol=self._theirs(request.symbol),
            side=request.side,
            qty=request.qty,
            order_type=request.order_type,
            time_in_force=request.time_in_force,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
        )
        message = codec.new_order(
            request,
            symbol=terms.symbol,
            account=self.block.account,
            now=datetime.now(UTC),
            extra_tags=self.block.order_tags,
        )
        self.journal.record_new(cid, terms)
        answer = self._send(
            message, lambda m: m.cl_ord_id == cid and not _is_status(m), op="submit", key=cid
        )
        crashpoint("after_reply")
        if answer.duplicate:
            found = self.fetch_order(cid)
            if found is None:
                raise BrokerTimeout(
                    f"the counterparty says ClOrdID {cid} is a duplicate but does not "
                    "show the order: outcome unknown",
                    context={"client_order_id": cid},
                )
            return found
        if answer.refused is not None:
            raise BrokerRejected(answer.refused, context={"client_order_id": cid})
        assert answer.report is not None
        if answer.report.exec_type == "8":
            raise BrokerRejected(
                answer.report.reason or "rejected by the counterparty",
                context={"client_order_id": cid},
            )
        view = self._view(cid)
        assert view is not None
        return view

    def cancel(self, client_order_id: str) -> BrokerOrder:
        stored = self._known(client_order_id)
        link = self.journal.next_link(stored.root, "cancel")
        message = codec.cancel(
            link, stored.current, stored.order_id, stored.terms, stored.terms.symbol, _now()
        )
        answer = self._send(message, lambda m: m.cl_ord_id == link, op="cancel", key=link)
        self._refusal(answer, client_order_id, "cancel")
        view = self._view(stored.root)
        assert view is not None
        return view

    def modify(
        self,
        client_order_id: str,
        *,
        new_client_order_id: str,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder:
        """OrderCancelReplaceRequest (35=G): the order keeps our id (``client_order_id``);
        on the wire it moves to a new ClOrdID with the current one as OrigClOrdID (the
        chain is journaled, so 11/41 stay intact across restarts). The engine's
        ``new_client_order_id`` is not sent: the chain's ids are the adapter's."""
        stored = self._known(client_order_id)
        for name, value in (("qty", qty), ("limit_price", limit_price), ("stop_price", stop_price)):
            codec.check_decimal(name, value)
        terms = Terms(
            symbol=stored.terms.symbol,
            side=stored.terms.side,
            qty=qty or stored.terms.qty,
            order_type=stored.terms.order_type,
            time_in_force=stored.terms.time_in_force,
            limit_price=limit_price if limit_price is not None else stored.terms.limit_price,
            stop_price=stop_price if stop_price is not None else stored.terms.stop_price,
        )
        link = self.journal.next_link(stored.root, "replace")
        message = codec.replace(
            link,
            stored.current,
            stored.order_id,
            terms,
            terms.symbol,
            self.block.account,
            _now(),
        )
        answer = self._send(message, lambda m: m.cl_ord_id == link, op="modify", key=link)
        self._refusal(answer, client_order_id, "replace")
        view = self._view(stored.root)
        assert view is not None
        return view

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        stored = self.journal.order(client_order_id)
        if not self.block.status_requests:  # what the counterparty has reported, only
            return None if stored is None or not stored.seen else self._view(stored.root)
        current = stored.current if stored is not None else client_order_id
        terms_symbol = stored.terms.symbol if stored is not None else ""
        side = stored.terms.side if stored is not None else None
        message = codec.status_request(
            current,
            stored.order_id if stored is not None else "",
            terms_symbol or "NA",
            side or Side.BUY,
        )
        answer = self._send(
            message,
            lambda m: m.cl_ord_id == current and (_is_status(m) or m.refused is not None),
            op="fetch_order",
            key=client_order_id,
        )
        if answer.unknown or answer.refused is not None:
            return None
        return self._view(stored.root if stored is not None else client_order_id)

    def fetch_open_orders(self) -> list[BrokerOrder]:
        views = (self._view(o.root) for o in self.journal.open_orders() if o.seen)
        return [v for v in views if v is not None and v.status.is_open]

    def fetch_positions(self) -> list[BrokerPosition]:
        return positions(
            self.journal.all_executions(), symbol_of=self._symbol_of, account=self.block.account
        )

    def fetch_account(self) -> BrokerAccount:
        cash = self.block.starting_cash - cash_spent(self.journal.all_executions())
        return BrokerAccount(
            account_id=self.block.account,
            cash=cash,
            equity=cash,
            buying_power=cash,
            currency=self.block.currency,
        )

    def subscribe(self, listener: OrderListener) -> None:
        """Listen to the stream; the first listener also gets what was pushed before it
        (a trade, a bust, a correction resent at the first logon)."""
        with self._hearing:
            self._listeners.append(listener)
            held, self._unheard = self._unheard, []
        for view in held:
            self.session.dispatch.put(functools.partial(self._notify, view))

    # ------------------------------------------------------------ inside

    def _theirs(self, symbol: str) -> str:
        return self.block.symbols.get(symbol, symbol)

    def _known(self, client_order_id: str) -> StoredOrder:
        stored = self.journal.order(client_order_id)
        if stored is None or not stored.seen:
            raise BrokerRejected(
                f"order {client_order_id} is unknown on this FIX session",
                context={"client_order_id": client_order_id},
            )
        return stored

    def _view(self, client_order_id: str) -> BrokerOrder | None:
        stored = self.journal.order(client_order_id)
        if stored is None:
            return None
        return order_view(
            stored,
            self.journal.executions(stored.root),
            symbol=self._symbol_of.get(stored.terms.symbol, stored.terms.symbol),
            account=self.block.account,
        )

    def _send(self, message: fix.Message, match: Any, *, op: str, key: str = "") -> Incoming:
        """Send one request if logged on and wait for the message ``match`` picks."""
        self._require_logon(op, wait=self.timeout if op == "fetch_order" else 0.0)
        waiter = self.session.expect(match)
        try:
            sent = fix.Session.sendToTarget(message, self.file.session_id)
        except fix.SessionNotFound as exc:
            self.session.forget(waiter)
            raise BrokerUnavailable(
                f"no FIX session {self.file.name}: {exc}", context={"operation": op}
            ) from exc
        if not sent:
            self.session.forget(waiter)
            raise BrokerUnavailable(
                f"QuickFIX did not send the {op} request", context={"operation": op}
            )
        if op == "submit":
            crashpoint("after_send")
        if not waiter.event.wait(self.timeout):
            self.session.forget(waiter)
            raise BrokerTimeout(
                f"no answer to the {op} request within {self.timeout:g}s: outcome unknown",
                context={"operation": op, "client_order_id": key},
            )
        answer = waiter.answer
        assert answer is not None
        if answer.lost:
            raise BrokerTimeout(
                f"the FIX session went down before the {op} request was answered: outcome unknown",
                context={"operation": op, "client_order_id": key},
            )
        return answer

    def _require_logon(self, op: str, wait: float = 0.0) -> None:
        """Nothing is sent unless logged on (a look-up waits up to ``wait`` for the
        session to come back; a submit does not wait)."""
        if not self.session.logged_on.wait(wait) if wait else not self.session.logged_on.is_set():
            raise BrokerUnavailable(
                f"the FIX session {self.file.name} is not logged on: nothing was sent",
                context={"operation": op},
            )

    def _refusal(self, answer: Incoming, client_order_id: str, what: str) -> None:
        reason = None
        if answer.cancel_reject is not None:
            reason = answer.cancel_reject.reason
        elif answer.refused is not None:
            reason = answer.refused
        elif answer.report is not None and answer.report.exec_type == "8":
            reason = answer.report.reason
        if reason is not None:
            raise BrokerRejected(
                f"{what} of {client_order_id} refused: {reason or 'no reason given'}",
                context={"client_order_id": client_order_id},
            )

    def _changed(self, root: str) -> None:
        """Called on QuickFIX's thread right after a report is journaled: the view is
        taken now, so each report is pushed as the order stood after it (a later
        report read back on the dispatcher would coalesce two partial fills into one
        FILLED), and handed to the dispatcher, which calls the listeners."""
        view = self._view(root)
        if view is not None:
            self.session.dispatch.put(lambda: self._notify(view))

    def _notify(self, view: BrokerOrder) -> None:
        with self._hearing:
            listeners = list(self._listeners)
            if not listeners:
                self._unheard.append(view)
                return
        for listener in listeners:
            try:
                listener(view)
            except Exception:  # a listener's failure must not stop the stream
                log.exception("fix.listener_failed", client_order_id=view.client_order_id)

    def _resync(self) -> None:
        """After a logon: one OrderStatusRequest per open order (answers go to the
        journal and the stream)."""
        if not self.block.status_requests:
            return
        for stored in self.journal.open_orders():
            message = codec.status_request(
                stored.current, stored.order_id, stored.terms.symbol, stored.terms.side
            )
            try:
                fix.Session.sendToTarget(message, self.file.session_id)
            except fix.SessionNotFound:
                return

    def _dispatch(self) -> None:
        while True:
            job = self.session.dispatch.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("fix.dispatch_failed")


def _is_status(incoming: Incoming) -> bool:
    return incoming.report is not None and incoming.report.exec_type == codec.ORDER_STATUS


def _now() -> datetime:
    return datetime.now(UTC)
