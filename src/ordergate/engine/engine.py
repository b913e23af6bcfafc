"""The execution engine: DESIGN.md's submit path, step by step.

1. validate the intent (fields, Decimal precision, expiry);
2. in one unit of work, record the intent under its idempotency key and the order as
   ``PENDING``; run the pre-trade gates (3); mark it ``SUBMITTED`` with a
   ``client_order_id`` derived from the key — all before the broker hears of it
   (``accepting.py``);
4-6. call the broker through the call policy (rate limit, circuit breaker, timeout),
   look an unknown outcome up before any resend (``submitting.py``);
7. record the receipt and every fill, the position and the events, in one unit of work
   (``updates.py``); the work that follows (bracket children, OCO siblings) comes back
   to :meth:`ExecutionEngine.carry_out`, the one place it is done.

This module is the public face: each method delegates to the step that owns it, over
the shared :class:`~ordergate.engine.core.EngineCore`. The engine is synchronous and
thread-safe: the store serialises units of work, and broker calls happen outside them,
so a slow broker never holds the store. A backtest drives the same code with a
simulated clock; the HTTP service calls it from worker threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from threading import Lock
from typing import TYPE_CHECKING, Any

import structlog

from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import InvalidIntent, OrderGateError
from ordergate.domain.intent import OrderIntent, check_not_expired
from ordergate.domain.market import market_state_entries
from ordergate.domain.order import Order
from ordergate.domain.report import ExecutionReport
from ordergate.domain.wire import BrokerOrder
from ordergate.engine import cancelling, modify, submitting
from ordergate.engine.accepting import accept_all, report_for
from ordergate.engine.basket import submit_basket
from ordergate.engine.brackets import reached, siblings
from ordergate.engine.core import (
    DEFAULT_STARTING_CASH,
    ChildOrders,
    EngineConfig,
    EngineCore,
    FollowUp,
    Settled,
    client_order_id_for,
    is_armed,
)
from ordergate.engine.queries import late_fill_candidates
from ordergate.engine.updates import apply_broker_view, apply_broker_views

if TYPE_CHECKING:
    from ordergate.engine.algos import AlgoDesk
    from ordergate.engine.ports import PreTradeCheck

__all__ = [
    "DEFAULT_STARTING_CASH",
    "EngineConfig",
    "ExecutionEngine",
    "Settled",
    "client_order_id_for",
]

log = structlog.get_logger("ordergate.engine")


class ExecutionEngine(EngineCore, ChildOrders):
    """Intents in, orders at the broker out: exactly once, fail-closed, recorded."""

    def attach(self) -> None:
        self.children = self  # follow-up work is carried out here
        self._algos: AlgoDesk | None = None
        self._algos_lock = Lock()
        self._algo_gates: PreTradeCheck | None = self.gates  # the desk's, as at start
        self.broker.subscribe(self.on_broker_update)

    @property
    def algos(self) -> AlgoDesk:
        """Parent orders (execution algorithms): ``submit`` hands them an intent with
        ``algo``. Built on first use: a one-shot command that never meets a parent does
        not import the algorithms (~10 ms of a ``ordergate submit``, issue 21); until
        then no parent is working here, so the marks it has not seen moved nothing."""
        desk = self._algos
        if desk is None:
            with self._algos_lock:
                desk = self._algos
                if desk is None:
                    desk = self._algos = self._algo_desk()
        return desk

    def _algo_desk(self) -> AlgoDesk:
        from ordergate.engine.algo_gates import SliceGates
        from ordergate.engine.algos import AlgoDesk

        desk = AlgoDesk(self)
        desk.gates = SliceGates(self._algo_gates)  # the gates the engine was built with
        return desk

    # ------------------------------------------------------------ submit

    def submit(self, intent: OrderIntent | Mapping[str, Any]) -> ExecutionReport:
        """Run one intent down the submit path; return what happened to it.

        Raises :class:`InvalidIntent` (nothing recorded), :class:`IdempotencyConflict`,
        :class:`PersistenceError` (nothing sent) and :class:`SentUnrecorded` (sent, the
        answer not recorded yet). Gate and broker rejections are outcomes: the report
        says ``REJECTED`` with the code.
        """
        if not isinstance(intent, OrderIntent):
            intent = OrderIntent.parse(intent)
        if intent.algo is not None:  # a parent order: worked through children
            return self.algos.submit(intent)
        check_not_expired(intent, self.clock.now())
        if self.quotes is not None:
            self.refresh_mark(intent.symbol)
        [(order, fresh)] = accept_all(self, [intent])
        sent = fresh and order.status is OrderStatus.SUBMITTED  # not if a gate said no
        settled = submitting.send(self, order, intent) if sent else None
        return report_for(self, order, fresh, settled, sent=sent)

    def submit_many(
        self, intents: Sequence[OrderIntent | Mapping[str, Any]]
    ) -> list[ExecutionReport]:
        """Submit a basket with two commits in all (see ``engine/basket.py``): every
        intent recorded and gated before any is sent, every receipt recorded together.

        One report per intent, in order. An invalid intent fails the basket before
        anything is recorded (``InvalidIntent`` naming ``intents[i].field``).
        """
        for i, item in enumerate(intents):
            if (item.algo if isinstance(item, OrderIntent) else item.get("algo")) is not None:
                raise InvalidIntent(f"intents[{i}].algo", "a parent order is submitted alone")
        return submit_basket(self, intents)

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

    def resend(self, order_id: str) -> ExecutionReport:
        """Send again an order the broker never received (see ``submitting.resend``)."""
        return submitting.resend(self, order_id)

    # ------------------------------------------------------ broker updates

    def on_broker_update(self, view: BrokerOrder) -> None:
        """Apply what the broker says about one of our orders (receipt, stream, poll)."""
        apply_broker_view(self, view)

    def apply_broker_view(self, view: BrokerOrder, known: Order | None = None) -> Settled | None:
        """Apply ``view``; the order as recorded and the fills booked now."""
        return apply_broker_view(self, view, known)

    def apply_broker_views(
        self, views: Sequence[tuple[BrokerOrder, Order | None]]
    ) -> dict[str, Settled | None]:
        """Apply several views in one unit of work (see ``updates.apply_broker_views``)."""
        return apply_broker_views(self, views)

    def carry_out(self, work: FollowUp) -> None:
        """The child-order port: send the children an update created, cancel the
        siblings it ended, watch the legs it armed and send those it released (each
        through the normal path, once the update committed)."""
        for leg in work.armed:
            self.armed.setdefault(leg.symbol, set()).add(leg.order_id)
        for child, intent, parent_client_id in work.children:
            submitting.send(self, child, intent, parent_client_id)
        for order_id, reason in work.cancels:
            try:
                self.cancel(order_id, reason=reason)
            except OrderGateError as exc:  # it finished on its own meanwhile
                log.info("follow-up cancel not made", order_id=order_id, error=exc.message)
        for order_id in work.release:
            self._release(order_id)
        for order_id in work.handovers:  # a replace by a new order: the old one ended
            modify.handover(self, order_id)

    def armed_mark(self, symbol: str, last: Decimal) -> None:
        """Trigger the armed legs of ``symbol`` the market has reached (held brackets,
        ``engine/brackets.py``): their working siblings are canceled first, and each leg
        is sent once its sibling is confirmed canceled — never both working."""
        for order_id in sorted(self.armed.get(symbol, ())):
            leg = self.store.get_order(order_id)
            if leg is None or not is_armed(leg):
                self.armed.get(symbol, set()).discard(order_id)
                continue
            if not reached(leg, last):
                continue
            log.info("armed bracket leg triggered", order_id=order_id, last=str(last))
            with self.step() as step:
                others = siblings(step, leg)
            working = [o for o in others if o.is_open and not is_armed(o)]
            if any(o.status is OrderStatus.FILLED for o in others):
                self.cancel(order_id, reason="oco")
            elif not working:
                self._release(order_id)
            for sibling in working:  # its confirmed cancel releases the leg (updates.py)
                try:
                    self.cancel(sibling.order_id, reason="oco")
                except OrderGateError as exc:
                    log.info(
                        "working leg not canceled", order_id=sibling.order_id, error=exc.message
                    )

    def _release(self, order_id: str) -> None:
        leg = self.store.get_order(order_id)
        if leg is None or not is_armed(leg):
            return
        self.armed.get(leg.symbol, set()).discard(order_id)
        submitting.resend(self, order_id)

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
        return modify.modify_order(
            self, order_id, qty=qty, limit_price=limit_price, stop_price=stop_price, key=key
        )

    # ------------------------------------------------------------ cancel

    def cancel(self, order_id: str, reason: str = "user") -> ExecutionReport:
        """Cancel ``order_id`` (see ``cancelling.cancel``)."""
        return cancelling.cancel(self, order_id, reason)

    # ----------------------------------------------------------- sync

    def sync_broker_state(self, *, late_window_s: float = 60.0) -> dict[str, Any]:
        """Look every open order up at the broker by ``client_order_id`` and apply what
        it says (missed fills, cancels) — and every order canceled or expired in the last
        ``late_window_s`` seconds, which a late fill can still reach; compare the cash;
        report what was checked and changed."""
        checked, changed, missing = 0, 0, []
        recent = late_fill_candidates(self.store, self.clock.now(), late_window_s)
        for order in [*self.store.open_orders(), *recent]:
            if order.status is OrderStatus.PENDING:
                continue
            checked += 1
            view = self.lookup(order.client_order_id)
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
