"""Execution algorithms: parent orders worked through children on the normal path.

:class:`AlgoDesk` carries out what the pure rules (``ordergate/algos``) decide:

- **submit**: a parent (an intent with an ``algo`` block) is replayed by its key,
  gated once as a whole (its full size against size, notional and buying power; it is
  one trade for trade counts) and recorded in the parent book (``store/parents.py``);
- **tick** (each ``step()`` of a backtest, a timer live): for every working parent, its
  children are read from the store — their fills as the broker reported them — and the
  next step is taken: a child is recorded and gated through the normal submit path
  under the key ``<parent key>/slice-N`` (the gates that change between slices:
  kill switches, trading state, loss breakers, buying power), then sent; a child whose
  slice ended is canceled, and what it left rolls into the next slice;
- **cancel** and **modify** of the parent cancel what works (a resize below what works
  cancels it too; the next slice carries the new terms).

Crash safety comes from the keys: slice N's intent is durable before it is sent, and
its number comes from the children the store holds, so a restarted engine finds every
child it made (recovery settles those in flight) and never makes one twice; a child's
quantity never exceeds what the parent has left with everything working counted.

The desk is this module, its public API; a parent's steps are
:mod:`ordergate.engine.algo_steps`, the working set and the volume it counts
:mod:`ordergate.engine.algo_working`, a parent's children :mod:`ordergate.engine.algo_children`
and the gates of a slice :mod:`ordergate.engine.algo_gates`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import structlog

from ordergate.algos import schedules
from ordergate.algos.parent import ChildState, ParentOrder, ParentStatus, progress_of
from ordergate.algos.views import parent_report, parent_view
from ordergate.domain.algo_terms import AlgoKind, AlgoTerms
from ordergate.domain.errors import (
    ErrorCode,
    IdempotencyConflict,
    InvalidIntent,
    OrderGateError,
    OrderNotCancelable,
    OrderNotFound,
    OrderNotModifiable,
)
from ordergate.domain.intent import OrderIntent
from ordergate.domain.money import fmt
from ordergate.domain.report import ExecutionReport
from ordergate.engine.algo_gates import SliceGates, gate_parent
from ordergate.engine.algo_steps import ParentSteps, VolumeProfiles, child_intent
from ordergate.engine.algo_working import WorkingParents
from ordergate.engine.core import EngineCore
from ordergate.store.base import DuplicateKey
from ordergate.store.parents import ParentBook, parent_book_for

log = structlog.get_logger("ordergate.algos")

#: The id prefix of a parent (``risk.ledger.trade_id`` counts its children as it).
PARENT_ID_PREFIX = "alg"

__all__ = ["PARENT_ID_PREFIX", "AlgoDesk", "VolumeProfiles", "child_intent"]


class AlgoDesk:
    """Parent orders of one engine (see the module)."""

    def __init__(
        self,
        core: EngineCore,
        book: ParentBook | None = None,
        *,
        profiles: VolumeProfiles | None = None,
        reload_s: float = 1.0,
    ) -> None:
        self.core = core
        self._book = book
        self._lock = threading.RLock()
        self._working = WorkingParents()
        self.steps = ParentSteps(core, self._working, lambda: self.book, profiles=profiles)
        #: how often (wall seconds) the book is read for parents recorded elsewhere
        self.reload_s = reload_s
        self._loaded_at = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        core.on_marked(self._on_mark)

    @property
    def book(self) -> ParentBook:
        if self._book is None:
            self._book = parent_book_for(self.core.store)
        return self._book

    @property
    def profiles(self) -> VolumeProfiles | None:
        """Where VWAP learns a volume profile its terms do not give (a backtest's data)."""
        return self.steps.profiles

    @profiles.setter
    def profiles(self, profiles: VolumeProfiles | None) -> None:
        self.steps.profiles = profiles

    @property
    def gates(self) -> SliceGates:
        """The gates every child passes (those that change between slices)."""
        return self.steps.gates

    @gates.setter
    def gates(self, gates: SliceGates) -> None:
        self.steps.gates = gates

    def native_display(self, terms: AlgoTerms) -> Decimal | None:
        """An iceberg's display quantity when the broker shows it natively."""
        return self.steps.native_display(terms)

    def children(self, parent: ParentOrder) -> list[ChildState]:
        """The parent's children as stored, slice 1 first."""
        return self.steps.children(parent)

    # ------------------------------------------------------------ submit

    def submit(self, intent: OrderIntent) -> ExecutionReport:
        """Accept a parent: replay its key, gate it whole, record it, start it."""
        terms = intent.algo
        if terms is None:
            raise InvalidIntent("algo", "a parent order needs an algo block")
        core = self.core
        _, payload_hash = intent.canonical()
        with self._lock:
            existing = self.book.find(intent.account_id, intent.idempotency_key)
            if existing is not None:
                return self._replay(existing, payload_hash)
            with core.store.transaction() as tx:
                if tx.find_intent(intent.account_id, intent.idempotency_key) is not None:
                    raise IdempotencyConflict(
                        f"idempotency key {intent.idempotency_key!r} names an order, not a parent",
                        context={"idempotency_key": intent.idempotency_key},
                    )
            if core.quotes is not None:
                core.refresh_mark(intent.symbol)
            mark = core.current_mark(intent.symbol)
            now = core.clock.now()
            rejection = gate_parent(core, replace(intent, algo=None), mark)
            parent = ParentOrder(
                parent_id=core.ids.next_id(PARENT_ID_PREFIX),
                intent=intent,
                payload_hash=payload_hash,
                status=ParentStatus.WORKING if rejection is None else ParentStatus.REJECTED,
                qty=intent.qty,
                limit_price=intent.limit_price,
                created_at=now,
                updated_at=now,
                arrival_price=None if mark is None else mark.last,
                error_code="" if rejection is None else rejection.code.name,
                error_message="" if rejection is None else rejection.message,
            )
            if rejection is not None and not rejection.code.value.keeps_key:
                return self._report(parent, [])  # curable before anything was sent: key free
            try:
                self.book.insert(parent)
            except DuplicateKey:  # a concurrent submit of the same key won
                found = self.book.find(intent.account_id, intent.idempotency_key)
                if found is None:
                    raise
                return self._replay(found, payload_hash)
            log.info(
                "parent order accepted" if rejection is None else "parent order rejected",
                parent_id=parent.parent_id,
                kind=terms.kind.value,
                qty=fmt(parent.qty),
                code=parent.error_code or None,
            )
            if rejection is None:
                self._track(parent)
                self.steps.work(parent)
            return self.report(parent.parent_id)

    def _replay(self, parent: ParentOrder, payload_hash: str) -> ExecutionReport:
        if parent.payload_hash != payload_hash:
            raise IdempotencyConflict(
                f"idempotency key {parent.idempotency_key!r} was used for a different parent "
                f"at {parent.created_at.isoformat()}",
                context={"idempotency_key": parent.idempotency_key},
            )
        return replace(self.report(parent.parent_id), replayed=True)

    # -------------------------------------------------------------- tick

    def tick(self) -> int:
        """Take the next step of every working parent; return how many children it sent."""
        due = time.monotonic() - self._loaded_at >= self.reload_s
        if self._working.empty and not due:
            return 0  # the common case in a backtest: nothing to do, nothing read
        if due and self._working.loaded:
            self._reload()
        sent = 0
        with self._lock:
            for parent in list(self.steps.parents().values()):
                try:
                    sent += self.steps.work(parent)
                except OrderGateError as exc:  # the store or broker said no: next tick
                    log.warning("parent step failed", parent_id=parent.parent_id, error=exc.message)
        return sent

    def _reload(self) -> None:
        """Take up the working parents this desk does not know (another process — a
        command line — recorded them, or this engine restarted)."""
        self._loaded_at = time.monotonic()
        with self._lock:
            self._working.reload(self.book)

    def _track(self, parent: ParentOrder) -> None:
        self.steps.parents()
        self._working.track(parent)

    def _on_mark(self, symbol: str) -> None:
        """Count the volume printed since each working parent's start (POV, the
        interval VWAP of its TCA). A mark's ``volume`` is what printed since the last."""
        if symbol not in self._working.symbols:  # WorkingParents.watches, without a call
            return
        mark = self.core.current_mark(symbol)
        if mark is not None:
            self._working.on_mark(symbol, mark)

    # ------------------------------------------------------- commands

    def cancel(self, parent_id: str, reason: str = "user") -> ExecutionReport:
        """Cancel the parent: no new child; its working children are canceled."""
        with self._lock:
            parent = self._get(parent_id)
            if parent.status.is_terminal:
                raise OrderNotCancelable(
                    f"parent {parent_id} is {parent.status} and cannot be canceled",
                    context={"order_id": parent_id, "status": parent.status.value},
                )
            if parent.status is not ParentStatus.PENDING_CANCEL:
                parent = parent.with_(
                    self.core.clock.now(), status=ParentStatus.PENDING_CANCEL, error_message=reason
                )
                self.steps.save(parent)
                self._track(parent)
            self.steps.work(parent)
            return self.report(parent_id)

    def modify(
        self, parent_id: str, *, qty: Any = None, limit_price: Any = None
    ) -> ExecutionReport:
        """Change the parent's total quantity or limit. Working children are canceled
        when the limit changes or the new quantity is below what works; the next slice
        carries the new terms. A quantity below what has filled is refused."""
        new_qty = _amount("qty", qty)
        new_limit = _amount("limit_price", limit_price)
        if new_qty is None and new_limit is None:
            raise InvalidIntent(
                "modify", "name a new qty or limit_price", code=ErrorCode.E_ORDER_MODIFY_INVALID
            )
        with self._lock:
            parent = self._get(parent_id)
            if parent.status is not ParentStatus.WORKING:
                raise OrderNotModifiable(
                    f"parent {parent_id} is {parent.status} and cannot be modified",
                    context={"order_id": parent_id, "status": parent.status.value},
                )
            if new_limit is not None and parent.limit_price is None:
                raise InvalidIntent(
                    "limit_price",
                    "the parent works market children; it has no limit to change",
                    code=ErrorCode.E_ORDER_MODIFY_INVALID,
                )
            children = self.children(parent)
            progress = progress_of(parent.qty, children)
            if new_qty is not None and new_qty < progress.filled:
                raise InvalidIntent(
                    "qty",
                    f"{fmt(new_qty)} is below what has filled ({fmt(progress.filled)})",
                    code=ErrorCode.E_ORDER_MODIFY_INVALID,
                )
            changed = parent.with_(
                self.core.clock.now(),
                qty=parent.qty if new_qty is None else new_qty,
                limit_price=parent.limit_price if new_limit is None else new_limit,
            )
            self.steps.save(changed)
            if new_limit is not None and new_limit != parent.limit_price:
                self.steps.cancel_children(
                    tuple(c.order_id for c in children if c.is_open and not c.cancel_pending),
                    "parent_modified",
                )
            self.steps.work(changed)
            return self.report(parent_id)

    def _get(self, parent_id: str) -> ParentOrder:
        known = self.steps.parents().get(parent_id)
        parent = self.steps.fresh(known) if known is not None else self.book.get(parent_id)
        if parent is None:
            raise OrderNotFound(f"no parent order {parent_id}", context={"order_id": parent_id})
        return parent

    # ------------------------------------------------------- views

    def report(self, parent_id: str) -> ExecutionReport:
        parent = self._get(parent_id)
        return self._report(parent, self.children(parent))

    def _report(self, parent: ParentOrder, children: list[ChildState]) -> ExecutionReport:
        view = self._view(parent, children)
        return parent_report(parent, children, view, simulated=self.core.simulated)

    def view(self, parent_id: str) -> dict[str, Any]:
        """The parent with its progress, TCA and children (CLI, API, dashboard)."""
        parent = self._get(parent_id)
        return self._view(parent, self.children(parent))

    def _view(self, parent: ParentOrder, children: list[ChildState]) -> dict[str, Any]:
        terms = parent.intent.algo
        scheduled = None
        if terms is not None and terms.kind is not AlgoKind.ICEBERG:
            at = self.core.clock.now() if not parent.status.is_terminal else parent.updated_at
            scheduled = schedules.scheduled(
                terms,
                parent.qty,
                parent.created_at,
                at,
                volume=parent.market_volume,
                learned=self.steps.profile(parent, terms),
            )
        return parent_view(parent, children, scheduled)

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent parents with their progress, newest first."""
        with self._lock:
            return [self._view(p, self.children(p)) for p in self.book.latest(limit)]

    # -------------------------------------------------------- thread

    def start(self, interval: float = 0.5) -> None:
        """Tick on a thread of its own (live and paper; a backtest ticks per event)."""
        if self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.tick()
                except Exception:  # the desk must outlive one bad pass
                    log.exception("algo tick failed")

        self._thread = threading.Thread(target=run, name="algo-desk", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def _amount(name: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except ArithmeticError:
        raise InvalidIntent(
            name, f"{value!r} is not a number", code=ErrorCode.E_ORDER_MODIFY_INVALID
        ) from None
    if isinstance(value, float) or not amount.is_finite() or amount <= 0:
        raise InvalidIntent(
            name, f"{value!r} must be a positive decimal", code=ErrorCode.E_ORDER_MODIFY_INVALID
        )
    return amount
