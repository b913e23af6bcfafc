"""The execution engine: DESIGN.md's submit path, step by step.

1. validate the intent (fields, Decimal precision, expiry);
2. in one unit of work, record the intent under its idempotency key and the order as
   ``PENDING``; run the pre-trade gates (3); mark it ``SUBMITTED`` with a
   ``client_order_id`` derived from the key — all before the broker hears of it;
4-6. call the broker through the call policy (rate limit, circuit breaker, timeout);
7. record the receipt and every fill, the position and the events, in one unit of work.

The engine is synchronous and thread-safe: the store serialises units of work, and
broker calls happen outside them, so a slow broker never holds the store. A backtest
drives the same code with a simulated clock; the HTTP service calls it from worker
threads.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import structlog

from ordergate.brokers.base import (
    BrokerAdapter,
    BrokerOrder,
    MarketDataSink,
    OrderRequest,
    QuoteSource,
)
from ordergate.bus.memory import InProcessBus
from ordergate.clock import Clock, IdGenerator, RandomIds, SystemClock
from ordergate.domain.enums import OrderStatus, TradingMode
from ordergate.domain.errors import (
    BrokerError,
    BrokerRejected,
    ConfigError,
    IdempotencyConflict,
    OrderGateError,
    OrderNotCancelable,
    OrderNotFound,
    PersistenceError,
)
from ordergate.domain.events import (
    RISK_WARNING_TOPIC,
    SCHEMA_VERSION,
    OrderCanceled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderRejected,
    OrderSubmitted,
)
from ordergate.domain.fills import Fill
from ordergate.domain.intent import OrderIntent, check_not_expired
from ordergate.domain.market import Mark, market_state_entries
from ordergate.domain.money import ZERO
from ordergate.domain.order import Order
from ordergate.domain.report import ExecutionReport
from ordergate.engine.basket import submit_basket
from ordergate.engine.brackets import bracket_children, oco_group, open_oco_siblings
from ordergate.engine.cash import CashCheck, CashLedger, reserved_notional
from ordergate.engine.modify import handover, modify_order
from ordergate.engine.payloads import TermsCache
from ordergate.engine.ports import (
    BrokerCallPolicy,
    DirectCall,
    GateContext,
    InstrumentInfo,
    IntentAdjuster,
    PreTradeCheck,
    Rejection,
)
from ordergate.engine.queries import EngineQueries
from ordergate.engine.recorder import Step, unit_of_work
from ordergate.engine.submitting import capabilities_of, send_with_retry
from ordergate.engine.sync import apply_broker_order
from ordergate.engine.tracking import late_fill_candidates
from ordergate.obs.chain import intent_digest
from ordergate.obs.redact import Redactor
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.base import DuplicateKey, StaleOrder, Store, StoredIntent

log = structlog.get_logger("ordergate.engine")

#: The cash an account starts with when the composition root is not asked otherwise
#: (the paper account's default, ``paper_starting_cash``).
DEFAULT_STARTING_CASH = Decimal(1_000_000)


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    """How the engine behaves; built from settings by the composition root."""

    mode: TradingMode = TradingMode.PAPER
    #: Seed 003's dry run: the composition root gives the engine the paper venue and a
    #: store of its own instead of the broker and the real store; every report says
    #: ``simulated``. Nothing reaches a broker, nothing touches the real book.
    dry_run: bool = False
    #: Trading days (daily P&L, daily limits) roll over at midnight in this zone.
    trading_timezone: str = "UTC"
    #: A mark older than this is stale: where the broker supplies market data, the
    #: engine asks it for a quote before it gates an order (None: never stale).
    mark_max_age_s: float | None = 5.0


@dataclass(frozen=True, slots=True)
class Settled:
    """An order as one unit of work left it, with the fills that step booked."""

    order: Order
    fills: list[Fill]

    @property
    def complete(self) -> bool:
        """True when those fills are all the order has (its report needs no read)."""
        return self.order.filled_qty == sum((f.last_qty for f in self.fills), ZERO)


def client_order_id_for(account_id: str, idempotency_key: str) -> str:
    """Our id at the broker, derived from the key: a resend after a crash reuses it.

    ``og`` and 24 hex digits (96 bits of sha256): short enough for every broker we
    know, and the same for the same account and key, always.
    """
    return "og" + hashlib.sha256(f"{account_id}\x1f{idempotency_key}".encode()).hexdigest()[:24]


class ExecutionEngine(EngineQueries):
    """Intents in, orders at the broker out: exactly once, fail-closed, recorded."""

    def __init__(
        self,
        store: Store,
        broker: BrokerAdapter,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        gates: PreTradeCheck | None = None,
        call_policy: BrokerCallPolicy | None = None,
        bus: InProcessBus | None = None,
        config: EngineConfig | None = None,
        retry: RetryPolicy | None = None,
        adjuster: IntentAdjuster | None = None,
        redactor: Redactor | None = None,
        instruments: InstrumentInfo | None = None,
        cash: CashLedger | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.clock = clock or SystemClock()
        self.ids = ids or RandomIds()
        self.gates = gates
        #: may change an order's terms before it is built (the risk desk in EMERGENCY)
        self.adjuster = adjuster
        #: scrubs credentials from raw broker receipts before they are kept
        self.redactor = redactor or Redactor()
        #: tick sizes, so that bracket prices land on the instrument's grid
        self.instruments = instruments
        self.policy = call_policy or DirectCall()
        self.bus = bus or InProcessBus()
        self.config = config or EngineConfig()
        self.simulated = self.config.dry_run
        if self.simulated and not capabilities_of(broker).simulated:
            raise ConfigError(
                f"a dry run sends nothing to a broker, but {broker.adapter_id!r} is not a "
                "simulated venue: build the engine with bootstrap.build_runtime, which gives a "
                "dry run the paper venue"
            )
        #: When and how often a failed submit is tried again (default: never).
        self.retry = retry or RetryPolicy()
        self._tz = ZoneInfo(self.config.trading_timezone)
        #: cash per account, moved by every fill booked (buying power, equity)
        self.cash = cash or CashLedger(DEFAULT_STARTING_CASH)
        self.cash.rebuild(store.positions())
        self._terms = TermsCache()
        #: order id → the gates' warnings, from the check until the submit's report
        self._warnings: dict[str, tuple[str, ...]] = {}
        self._marks: dict[str, Mark] = store.marks()
        self._marks_lock = threading.Lock()
        #: called with the symbol after every mark (the equity feed of the risk desk)
        self._mark_listeners: list[Callable[[str], None]] = []
        #: the broker, when it simulates from our marks (asked once: a protocol check is slow)
        self._sink = broker if isinstance(broker, MarketDataSink) else None
        #: the broker, when it supplies quotes (the market-data port in LIVE)
        self._quotes = (
            broker
            if capabilities_of(broker).market_data and isinstance(broker, QuoteSource)
            else None
        )
        broker.subscribe(self.on_broker_update)

    # ------------------------------------------------------------ submit

    def submit(self, intent: OrderIntent | Mapping[str, Any]) -> ExecutionReport:
        """Run one intent down the submit path; return what happened to it.

        Raises :class:`InvalidIntent` (nothing recorded), :class:`IdempotencyConflict`
        and :class:`PersistenceError` (nothing sent). Gate and broker rejections are
        outcomes: the report says ``REJECTED`` with the code.
        """
        if not isinstance(intent, OrderIntent):
            intent = OrderIntent.parse(intent)
        check_not_expired(intent, self.clock.now())
        if self._quotes is not None:
            self.refresh_mark(intent.symbol)
        [(order, fresh)] = self._accept_all([intent])
        sent = fresh and order.status is OrderStatus.SUBMITTED  # not if a gate said no
        settled = self._send(order, intent) if sent else None
        return self._report_for(order, fresh, settled, sent=sent)

    def _report_for(
        self, order: Order, fresh: bool, settled: Settled | None, *, sent: bool
    ) -> ExecutionReport:
        """What the submit path tells the caller about one intent (alone or in a basket)."""
        report = self._report_of(order, fresh, settled, sent=sent)
        notes = self._warnings.pop(order.order_id, None) if fresh else None
        return report if notes is None else replace(report, warnings=notes)

    def _report_of(
        self, order: Order, fresh: bool, settled: Settled | None, *, sent: bool
    ) -> ExecutionReport:
        if not fresh:
            return self.report(order.order_id, replayed=True)
        if not sent:  # rejected by a gate: the broker never heard of it
            return ExecutionReport.of(order, (), simulated=self.simulated)
        if settled is not None and settled.complete:
            return ExecutionReport.of(settled.order, tuple(settled.fills), simulated=self.simulated)
        return self.report(order.order_id)

    def execute(
        self,
        order_intent: OrderIntent | Mapping[str, Any],
        market_state: Mapping[str, Any] | None = None,
    ) -> ExecutionReport:
        """Seed 000's entry point: mark the given market state, then submit."""
        if market_state:
            symbol = str(
                order_intent.symbol
                if isinstance(order_intent, OrderIntent)
                else order_intent.get("symbol", "")
            ).upper()
            for sym, data in market_state_entries(symbol, market_state):
                self.mark(sym, **data)
        return self.submit(order_intent)

    def _accept_all(self, intents: Sequence[OrderIntent]) -> list[tuple[Order, bool]]:
        """Steps 2, 3 and 6a for every intent, in one unit of work: (order, created now)
        for each. A key named twice in ``intents`` is one order (or a conflict)."""
        forms = [intent.canonical() for intent in intents]
        for _ in range(2):  # a concurrent insert of the same key loses the race once
            try:
                with self._step() as step:
                    accepted: list[tuple[Order, bool]] = []
                    created: dict[tuple[str, str], tuple[Order, str]] = {}
                    for intent, (canonical, payload_hash) in zip(intents, forms, strict=True):
                        key = (intent.account_id, intent.idempotency_key)
                        if key in created:
                            order, first_hash = created[key]
                            if first_hash != payload_hash:
                                raise IdempotencyConflict(
                                    f"idempotency key {key[1]!r} is used twice in the basket "
                                    "for different intents",
                                    context={"idempotency_key": key[1]},
                                )
                            accepted.append((order, False))
                            continue
                        existing = step.tx.find_intent(*key)
                        if existing is not None:
                            accepted.append((self._replay(step, existing, payload_hash), False))
                        else:
                            order = self._create(step, intent, canonical, payload_hash)
                            created[key] = (order, payload_hash)
                            accepted.append((order, True))
                    return accepted
            except DuplicateKey:
                continue
        raise PersistenceError("the idempotency key kept clashing; try again")

    def _replay(self, step: Step, existing: StoredIntent, payload_hash: str) -> Order:
        if existing.payload_hash != payload_hash:
            raise IdempotencyConflict(
                f"idempotency key {existing.idempotency_key!r} was used for a different intent "
                f"at {existing.received_at.isoformat()}",
                context={"idempotency_key": existing.idempotency_key},
            )
        order = step.tx.get_order(existing.order_id)
        if order is None:
            raise PersistenceError(f"intent {existing.intent_id} has no order")
        return order

    def _create(
        self,
        step: Step,
        intent: OrderIntent,
        canonical: str,
        payload_hash: str,
        *,
        parent: Order | None = None,
    ) -> Order:
        now = self.clock.now()
        intent_id = self.ids.next_id("int")
        order_id = self.ids.next_id("ord")
        step.tx.insert_intent(
            StoredIntent(
                intent_id,
                intent.account_id,
                intent.idempotency_key,
                payload_hash,
                canonical,
                now,
                order_id,
            )
        )
        mark = self._marks.get(intent.symbol)
        if parent is None and self.adjuster is not None:
            # the desk may change the terms (EMERGENCY: limits made marketable); the
            # intent stays recorded as the strategy sent it, so its key still replays
            intent = self.adjuster.adjust(intent, mark)
        order = Order(
            order_id=order_id,
            client_order_id=client_order_id_for(intent.account_id, intent.idempotency_key),
            idempotency_key=intent.idempotency_key,
            account_id=intent.account_id,
            strategy_id=intent.strategy_id,
            symbol=intent.symbol,
            side=intent.side,
            qty=intent.qty,
            order_type=intent.order_type,
            limit_price=intent.limit_price,
            stop_price=intent.stop_price,
            time_in_force=intent.time_in_force,
            created_at=now,
            updated_at=now,
            arrival_price=None if mark is None else mark.last,
            parent_order_id=None if parent is None else parent.order_id,
            sl_offset_pct=intent.sl_offset_pct,
            tp_offset_pct=intent.tp_offset_pct,
        )
        step.record_created(order, intent_id, intent_digest(payload_hash, canonical))
        # bracket children protect a filled position: they pass no gate (seed 004)
        rejection = None if parent is not None else self._check_gates(step, intent, mark, order)
        if rejection is not None:
            step.record(
                order, OrderRejected(ts=now, code=rejection.code, message=rejection.message)
            )
        else:
            step.record(order, OrderSubmitted(ts=now, attempt=1))
        return order

    def _tick(self, order: Order) -> Decimal | None:
        return None if self.instruments is None else self.instruments.tick_size(order.symbol)

    def _create_child(self, step: Step, intent: OrderIntent, parent: Order) -> Order:
        canonical, payload_hash = intent.canonical()
        return self._create(step, intent, canonical, payload_hash, parent=parent)

    def _check_gates(
        self, step: Step, intent: OrderIntent, mark: Mark | None, order: Order
    ) -> Rejection | None:
        if self.gates is None:
            return None
        working = [
            *step.tx.open_orders_for(intent.account_id, intent.symbol),
            *(  # a basket's earlier orders
                o for o in step.created_for(intent.account_id, intent.symbol) if o is not order
            ),
        ]
        account = intent.account_id

        def reserved() -> Decimal:
            orders = [
                *step.tx.open_orders_for(account),
                *(o for o in step.created_for(account, None) if o is not order),
            ]
            return reserved_notional(orders, self.cash.holdings(account))

        context = GateContext(
            position=step.tx.get_position(account, intent.symbol),
            mark=mark,
            open_orders_qty=sum((o.leaves_qty * o.side.sign for o in working), ZERO),
            reserved_notional=reserved,
        )
        rejection = self.gates.check(intent, context)
        warn = getattr(self.gates, "warnings", None)  # optional: a WarningCheck
        if warn is not None and (notes := warn(intent, context)):
            self._warn(step, order, notes)
        return rejection

    def _warn(self, step: Step, order: Order, notes: tuple[str, ...]) -> None:
        """A gate said "go, but look": a stored event, a log line, the report's warnings."""
        log.warning("pre-trade warning", order_id=order.order_id, warnings=notes)
        body = {"order_id": order.order_id, "symbol": order.symbol, "warnings": list(notes)}
        step.emit(RISK_WARNING_TOPIC, order.order_id, body, order.created_at)
        self._warnings[order.order_id] = notes  # until the submit's report takes them

    def submit_many(
        self, intents: Sequence[OrderIntent | Mapping[str, Any]]
    ) -> list[ExecutionReport]:
        """Submit a basket with two commits in all (see ``engine/basket.py``): every
        intent recorded and gated before any is sent, every receipt recorded together.

        One report per intent, in order. An invalid intent fails the basket before
        anything is recorded (``InvalidIntent`` naming ``intents[i].field``).
        """
        return submit_basket(self, intents)

    def _send(
        self, order: Order, intent: OrderIntent, parent_client_id: str | None = None
    ) -> Settled | None:
        """Steps 4-7: call the broker, then record what it said (see ``send_with_retry``)."""
        return send_with_retry(self, order, self.order_request(order, intent, parent_client_id))

    def order_request(
        self, order: Order, intent: OrderIntent, parent_client_id: str | None = None
    ) -> OrderRequest:
        """What the broker is sent for ``order``."""
        return OrderRequest(
            client_order_id=order.client_order_id,
            account_id=order.account_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            order_type=order.order_type,
            time_in_force=order.time_in_force,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            expire_at=intent.expire_at,
            parent_client_order_id=parent_client_id,
            oco_group=None if parent_client_id is None else oco_group(parent_client_id, order),
        )

    def resend(self, order_id: str) -> ExecutionReport:
        """Send again an order the broker never received (startup recovery, after a
        look-up by ``client_order_id`` found nothing). A PENDING order is marked
        SUBMITTED first; any other status is left alone."""
        with self._step() as step:
            order = self._reload(step, order_id)
            if order.status is OrderStatus.PENDING:
                step.record(order, OrderSubmitted(ts=self.clock.now(), attempt=1))
        payload = self.store.intent_payload(order_id)
        if order.status is OrderStatus.SUBMITTED and payload is not None:
            parent = self.store.get_order(order.parent_order_id) if order.parent_order_id else None
            parent_cid = None if parent is None else parent.client_order_id
            self._send(order, OrderIntent.parse(json.loads(payload)), parent_cid)
        return self.report(order_id)

    # ------------------------------------------------------ broker updates

    def on_broker_update(self, view: BrokerOrder) -> None:
        """Apply what the broker says about one of our orders (receipt, stream, poll)."""
        self.apply_broker_view(view)

    def apply_broker_view(self, view: BrokerOrder, known: Order | None = None) -> Settled | None:
        """Apply ``view``; return the order as recorded and the fills booked now.

        ``known`` is the order as the caller last recorded it (the receipt of a submit):
        it saves reading the order again. Should the order have changed meanwhile (a
        stream update won the race), the version check refuses the write and the view
        is applied again to the order as stored.
        """
        if known is not None:
            try:
                return self._apply_view(view, known)
            except (StaleOrder, DuplicateKey):
                log.info("order changed before its receipt; applied again", order=known.order_id)
        return self._apply_view(view, None)

    def _apply_view(self, view: BrokerOrder, known: Order | None) -> Settled | None:
        return self.apply_broker_views([(view, known)])[view.client_order_id]

    def apply_broker_views(
        self, views: Sequence[tuple[BrokerOrder, Order | None]]
    ) -> dict[str, Settled | None]:
        """Apply several views in one unit of work (a basket's receipts); by client
        order id, what each left. ``StaleOrder`` when an order in hand changed meanwhile."""
        follow_up: list[tuple[Order, list[tuple[Order, OrderIntent]], list[str]]] = []
        settled: dict[str, Settled | None] = {}
        with self._step() as step:
            for given, known in views:
                view = given  # the broker's words are kept redacted (seed 000)
                if given.reason:
                    view = replace(given, reason=self.redactor.reason(given.reason))
                order = known or step.tx.order_by_client_id(view.client_order_id)
                if order is None:
                    log.warning(
                        "broker update for an unknown order", client_order_id=view.client_order_id
                    )
                    settled[view.client_order_id] = None
                    continue
                booked, recorded = len(step.fills_booked), step.event_count
                now = self.clock.now()
                apply_broker_order(step, order, view, now)
                if (
                    view.raw and step.event_count > recorded
                ):  # what the broker said, when it mattered
                    raw = orjson.dumps(self.redactor.scrub(view.raw), default=str).decode()
                    step.tx.add_receipt(
                        order.order_id, order.client_order_id, self.broker.adapter_id, raw, now
                    )
                tick = (
                    None if self.instruments is None else self.instruments.tick_size(order.symbol)
                )
                children = bracket_children(step, order, self._create_child, tick)
                siblings = open_oco_siblings(step, order)
                fills = [f for f in step.fills_booked[booked:] if f.order_id == order.order_id]
                settled[view.client_order_id] = Settled(order, fills)
                follow_up.append((order, children, siblings))
        for order, children, siblings in follow_up:
            if order.pending_replace is not None and not order.is_open:
                handover(self, order.order_id)  # a replacement takes over, or nothing left
            for child, child_intent in children:
                self._send(child, child_intent, order.client_order_id)
            for sibling_id in siblings:
                try:
                    self.cancel(sibling_id, reason="oco")
                except OrderGateError as exc:  # it finished on its own meanwhile
                    log.info("oco sibling not canceled", order_id=sibling_id, error=exc.message)
        return settled

    # ------------------------------------------------------------ modify

    def modify(
        self,
        order_id: str,
        *,
        qty: Any = None,
        limit_price: Any = None,
        stop_price: Any = None,
        key: str | None = None,
    ) -> ExecutionReport:
        """Change a working order's total quantity or prices, exactly once (see
        ``engine/modify.py``); ``key`` makes the command idempotent. The report's
        ``extra["replace"]`` says whether the replace is done, pending or refused."""
        return modify_order(
            self, order_id, qty=qty, limit_price=limit_price, stop_price=stop_price, key=key
        )

    # ------------------------------------------------------------ cancel

    def cancel(self, order_id: str, reason: str = "user") -> ExecutionReport:
        order = self.store.get_order(order_id)
        if order is None:
            raise OrderNotFound(f"no order {order_id}", context={"order_id": order_id})
        if order.status.is_terminal:
            raise OrderNotCancelable(
                f"order {order_id} is {order.status} and cannot be canceled",
                context={"order_id": order_id, "status": order.status},
            )
        with self._step() as step:
            current = self._reload(step, order_id)
            now = self.clock.now()
            never_sent = current.status is OrderStatus.PENDING
            if never_sent:
                step.record(current, OrderCanceled(ts=now, reason=reason))
            elif current.status is not OrderStatus.PENDING_CANCEL:
                step.record(current, OrderCancelRequested(ts=now, reason=reason))
        if never_sent:
            return self.report(order_id)
        view: BrokerOrder | None
        try:
            view = self.policy.call("cancel", lambda: self.broker.cancel(order.client_order_id))
        except BrokerRejected as exc:
            view = self._lookup(order.client_order_id)
            if view is None or view.status.is_open:
                self._cancel_refused(order_id, exc.message)
        except BrokerError as exc:
            log.warning(
                "cancel not confirmed; tracking will settle it", order_id=order_id, error=str(exc)
            )
            return self.report(order_id)
        if view is not None:
            self.on_broker_update(view)
        return self.report(order_id)

    def _cancel_refused(self, order_id: str, message: str) -> None:
        with self._step() as step:
            current = self._reload(step, order_id)
            if current.status is OrderStatus.PENDING_CANCEL:
                step.record(current, OrderCancelRejected(ts=self.clock.now(), message=message))

    def _lookup(self, client_order_id: str) -> BrokerOrder | None:
        try:
            return self.policy.call("fetch_order", lambda: self.broker.fetch_order(client_order_id))
        except BrokerError:
            return None

    # ----------------------------------------------------------- sync

    def sync_broker_state(self, *, late_window_s: float = 60.0) -> dict[str, Any]:
        """Look every open order up at the broker by ``client_order_id`` and apply what
        it says (missed fills, cancels) — and every order canceled or expired in the last
        ``late_window_s`` seconds, which a late fill can still reach; report what was
        checked and changed."""
        checked, changed, missing = 0, 0, []
        recent = late_fill_candidates(self.store, self.clock.now(), late_window_s)
        for order in [*self.store.open_orders(), *recent]:
            if order.status is OrderStatus.PENDING:
                continue
            checked += 1
            view = self._lookup(order.client_order_id)
            if view is None:
                if order.status.is_open:
                    missing.append(order.order_id)
                continue
            before = self.store.get_order(order.order_id)
            self.on_broker_update(view)
            after = self.store.get_order(order.order_id)
            if before is not None and after is not None and before.version != after.version:
                changed += 1
        cash = self.check_cash()
        return {
            "checked": checked,
            "changed": changed,
            "missing_at_broker": missing,
            "cash": None
            if cash is None
            else {"ours": str(cash.ours), "broker": str(cash.broker), "matches": cash.matches},
        }

    def check_cash(
        self,
        account_id: str = "default",
        *,
        calibrate: bool = False,
        tolerance: Decimal = Decimal("0.01"),
    ) -> CashCheck | None:
        """Our cash beside the broker's account; ``calibrate`` (LIVE, at start) takes the
        broker's figure as the truth. ``None`` when the broker does not answer."""
        try:
            account = self.policy.call("fetch_account", self.broker.fetch_account)
        except BrokerError as exc:
            log.warning("broker account not available", error=exc.message)
            return None
        if calibrate:
            self.cash.calibrate(account_id, account.cash)
        check = self.cash.compare(account_id, account.cash, tolerance)
        if not check.matches:
            log.warning(
                "cash differs from the broker's",
                account_id=account_id,
                ours=str(check.ours),
                broker=str(check.broker),
            )
        return check

    # ------------------------------------------------------------ market

    def refresh_mark(self, symbol: str) -> Mark | None:
        """The market-data port: with no fresh mark of ``symbol``, ask the broker's
        quotes (where it supplies them) and mark what it says. Gates, buying power and
        slippage then read it as any mark. A failed quote leaves the gates to say
        there is no market data: nothing is guessed."""
        quotes = self._quotes
        with self._marks_lock:
            current = self._marks.get(symbol)
        max_age = self.config.mark_max_age_s
        if current is not None and (
            quotes is None
            or max_age is None
            or (self.clock.now() - current.ts).total_seconds() <= max_age
        ):
            return current
        if quotes is None:
            return None
        try:
            quote = self.policy.call("fetch_quote", lambda: quotes.fetch_quote(symbol))
        except BrokerError as exc:
            log.warning("quote not available", symbol=symbol, error=exc.message)
            return current
        if quote is None:
            return current
        return self.mark(symbol, quote.last, quote.bid, quote.ask, quote.volume)

    def mark(
        self,
        symbol: str,
        last: Any,
        bid: Any = None,
        ask: Any = None,
        volume: Any = None,
    ) -> Mark:
        """Tell the engine (and a simulating broker) the market for ``symbol``."""
        data = {"last": last, "bid": bid, "ask": ask, "volume": volume}
        mark = Mark.parse(symbol, data, self.clock.now())
        with self.store.transaction() as tx:  # a mark is no order event: no step
            tx.save_mark(mark)
        with self._marks_lock:
            self._marks[mark.symbol] = mark
        if self._sink is not None:
            self._sink.on_mark(mark)
        for listener in self._mark_listeners:
            listener(mark.symbol)
        if self.bus.has_subscribers("market.mark"):  # in-process only: not an order event
            body = {"schema_version": SCHEMA_VERSION, "topic": "market.mark", **mark.to_dict()}
            self.bus.publish("market.mark", mark.symbol, body)
        return mark

    # ------------------------------------------------------------ plumbing

    def _step(self) -> Any:
        return unit_of_work(self.store, self.bus, self._tz, self._terms, self.cash)

    def record_event(self, topic: str, key: str | None, body: Mapping[str, Any]) -> None:
        """Record an event of no order (ops, risk) in the chain and the outbox, in its own
        unit of work; published on the bus after the commit."""
        with self._step() as step:
            step.emit(topic, key, dict(body), self.clock.now())

    @staticmethod
    def _reload(step: Step, order_id: str) -> Order:
        order = step.tx.get_order(order_id)
        if order is None:
            raise OrderNotFound(f"no order {order_id}", context={"order_id": order_id})
        return order

    def subscribe(self, pattern: str, handler: Callable[..., None]) -> Callable[[], None]:
        return self.bus.subscribe(pattern, handler)

    def on_marked(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(symbol)`` after every mark, in the marking thread (cheaper
        than a bus subscription, which builds an event body per mark)."""
        self._mark_listeners.append(listener)
