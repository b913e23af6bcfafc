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
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import structlog

from ordergate.algos import decide, schedules
from ordergate.algos.parent import (
    ChildState,
    ParentOrder,
    ParentStatus,
    progress_of,
    slice_key,
)
from ordergate.algos.views import parent_report, parent_view
from ordergate.domain.algo_terms import AlgoKind, AlgoTerms
from ordergate.domain.enums import OrderStatus
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
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.report import ExecutionReport
from ordergate.engine import cancelling, submitting
from ordergate.engine.accepting import create
from ordergate.engine.algo_children import ChildBook
from ordergate.engine.algo_gates import SliceGates, gate_parent
from ordergate.engine.core import EngineCore, capabilities_of
from ordergate.store.base import DuplicateKey
from ordergate.store.parents import ParentBook, parent_book_for

log = structlog.get_logger("ordergate.algos")

#: The id prefix of a parent (``risk.ledger.trade_id`` counts its children as it).
PARENT_ID_PREFIX = "alg"


class VolumeProfiles(Protocol):
    """Where VWAP learns a volume profile when its terms give none (a backtest's data)."""

    def profile(
        self, symbol: str, start: datetime, end: datetime, slices: int
    ) -> tuple[Decimal, ...]: ...


@dataclass(slots=True)
class _Flow:
    """Volume and price x volume printed since a parent's start, not yet written."""

    volume: Decimal = ZERO
    notional: Decimal = ZERO


def child_intent(
    parent: ParentOrder, number: int, qty: Decimal, display_qty: Decimal | None = None
) -> OrderIntent:
    """Slice ``number`` of ``parent``: its terms, ``qty``, the key ``<key>/slice-N``;
    ``display_qty`` for a native iceberg's child (the broker shows only that much)."""
    base = parent.intent
    terms = base.algo
    kind = terms.kind.value if terms is not None else "algo"
    return replace(
        base,
        idempotency_key=slice_key(base.idempotency_key, number),
        qty=qty,
        limit_price=parent.limit_price,
        algo=None,
        display_qty=display_qty,
        reason=f"{kind} slice {number} of {parent.parent_id}",
        metadata={"algo_parent": parent.parent_id, "slice": number},
    )


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
        self.profiles = profiles
        self.gates = SliceGates(core.gates)
        self._lock = threading.RLock()
        self._flow_lock = threading.Lock()
        self._working: dict[str, ParentOrder] | None = None
        self._by_symbol: dict[str, set[str]] = {}
        self._flow: dict[str, _Flow] = {}
        self._kids = ChildBook(core.store, self._ends_at)
        self._learned: dict[str, tuple[Decimal, ...]] = {}
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
                self._work(parent)
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
        working = self._working
        due = time.monotonic() - self._loaded_at >= self.reload_s
        if working is not None and not working and not due:
            return 0  # the common case in a backtest: nothing to do, nothing read
        if due and working is not None:
            self._reload()
        sent = 0
        with self._lock:
            for parent in list(self._parents().values()):
                try:
                    sent += self._work(parent)
                except OrderGateError as exc:  # the store or broker said no: next tick
                    log.warning("parent step failed", parent_id=parent.parent_id, error=exc.message)
        return sent

    def _parents(self) -> dict[str, ParentOrder]:
        if self._working is None:
            self._working = {}
            self._reload()
        return self._working

    def _reload(self) -> None:
        """Take up the working parents this desk does not know (another process — a
        command line — recorded them, or this engine restarted)."""
        self._loaded_at = time.monotonic()
        with self._lock:
            known = self._parents()
            for parent in self.book.working():
                if parent.parent_id not in known:
                    self._track(parent)

    def _track(self, parent: ParentOrder) -> None:
        self._parents()[parent.parent_id] = parent
        with self._flow_lock:
            self._by_symbol.setdefault(parent.symbol, set()).add(parent.parent_id)
            self._flow.setdefault(parent.parent_id, _Flow())

    def _untrack(self, parent: ParentOrder) -> None:
        self._parents().pop(parent.parent_id, None)
        with self._flow_lock:
            self._by_symbol.get(parent.symbol, set()).discard(parent.parent_id)
            self._flow.pop(parent.parent_id, None)

    def _on_mark(self, symbol: str) -> None:
        """Count the volume printed since each working parent's start (POV, the
        interval VWAP of its TCA). A mark's ``volume`` is what printed since the last."""
        if not self._by_symbol.get(symbol):
            return
        mark = self.core.current_mark(symbol)
        if mark is None or mark.volume is None or mark.volume <= 0:
            return
        with self._flow_lock:
            for parent_id in self._by_symbol.get(symbol, ()):
                parent = (self._working or {}).get(parent_id)
                if parent is None or parent.intent.algo is None:
                    continue
                start, _ = parent.intent.algo.window(parent.created_at)
                if mark.ts < start:
                    continue
                flow = self._flow.setdefault(parent_id, _Flow())
                flow.volume += mark.volume
                flow.notional += mark.volume * mark.last

    def _absorb(self, parent: ParentOrder) -> ParentOrder:
        with self._flow_lock:
            flow = self._flow.get(parent.parent_id)
            if flow is None or flow.volume == 0:
                return parent
            volume, notional = flow.volume, flow.notional
            flow.volume = flow.notional = ZERO
        merged = replace(
            parent,
            market_volume=parent.market_volume + volume,
            market_notional=parent.market_notional + notional,
        )
        self._parents()[parent.parent_id] = merged
        return merged

    def _work(self, parent: ParentOrder) -> int:
        """Steps of one parent until it has to wait; the number of children sent (0 or
        1). A cancel the broker confirms at once is followed by the next step now."""
        for _ in range(3):
            parent = self._fresh(parent)
            terms = parent.intent.algo
            if terms is None or parent.status.is_terminal:
                self._untrack(parent)
                return 0
            parent = self._absorb(parent)
            now = self.core.clock.now()
            children = self.children(parent)
            filled = sum((c.filled for c in children), ZERO)
            slot = self._slot(parent, terms, now, filled)
            step = decide.next_step(terms, parent.qty, parent.status, children, slot, now)
            if isinstance(step, decide.Send):
                return self._send(parent, step)
            if isinstance(step, decide.Finish):
                self._save(parent.with_(now, status=step.status))
                log.info("parent order ended", parent_id=parent.parent_id, status=step.status.value)
                return 0
            if not isinstance(step, decide.CancelChildren) or not step.order_ids:
                return 0
            self._cancel_children(step.order_ids, step.reason)
            parent = self._parents().get(parent.parent_id, parent)
        return 0

    def _fresh(self, parent: ParentOrder) -> ParentOrder:
        """The parent as stored, when another process (a CLI cancel) changed it; the
        volume counted here since the last write is kept."""
        stored = self.book.get(parent.parent_id)
        if stored is None or stored.version <= parent.version:
            return parent
        fresh = replace(
            stored,
            market_volume=max(stored.market_volume, parent.market_volume),
            market_notional=max(stored.market_notional, parent.market_notional),
        )
        self._parents()[parent.parent_id] = fresh
        return fresh

    def native_display(self, terms: AlgoTerms) -> Decimal | None:
        """An iceberg's display quantity when the broker shows it natively (its
        capability ``display_qty``): then one child of all that is left carries it,
        rather than a child of the display quantity refilled as it fills."""
        if terms.kind is not AlgoKind.ICEBERG or not capabilities_of(self.core.broker).display_qty:
            return None
        return terms.display_qty

    def _slot(
        self, parent: ParentOrder, terms: AlgoTerms, at: datetime, filled: Decimal
    ) -> schedules.Slot:
        if self.native_display(terms) is not None:  # the broker refills: all of it at once
            terms = replace(terms, display_qty=parent.qty)
        return schedules.slot(
            terms,
            parent.qty,
            parent.created_at,
            at,
            volume=parent.market_volume,
            filled=filled,
            learned=self._profile(parent, terms),
        )

    def _ends_at(self, parent: ParentOrder, created_at: datetime) -> datetime | None:
        """When the slice of a child made at ``created_at`` ends (None: it lives until
        it fills)."""
        terms = parent.intent.algo
        return None if terms is None else self._slot(parent, terms, created_at, ZERO).ends_at

    def _profile(self, parent: ParentOrder, terms: AlgoTerms) -> tuple[Decimal, ...]:
        if terms.kind is not AlgoKind.VWAP or terms.profile or self.profiles is None:
            return ()
        learned = self._learned.get(parent.parent_id)
        if learned is None:
            start, end = terms.window(parent.created_at)
            count = terms.slice_count(parent.created_at) or 1
            learned = () if end is None else self.profiles.profile(parent.symbol, start, end, count)
            self._learned[parent.parent_id] = learned
        return learned

    def _send(self, parent: ParentOrder, send: decide.Send) -> int:
        core = self.core
        terms = parent.intent.algo
        display = None if terms is None else self.native_display(terms)
        intent = child_intent(parent, send.slice_no, send.qty, display)
        canonical, payload_hash = intent.canonical()
        if core.quotes is not None:
            core.refresh_mark(intent.symbol)
        with core.step() as step:
            existing = step.tx.find_intent(intent.account_id, intent.idempotency_key)
            if existing is not None:  # made before a crash: it is the slice, never a second
                self._kids.add(parent, existing.order_id)
                return 0
            order = create(
                core,
                step,
                intent,
                canonical,
                payload_hash,
                parent_id=parent.parent_id,
                gates=self.gates,
            )
        self._kids.add(parent, order.order_id)
        try:  # a hint (the children are the truth): it must never keep a child from going
            self._save(parent.with_(core.clock.now(), slices=send.slice_no), untrack=False)
        except OrderGateError as exc:
            log.warning(
                "parent progress not written", parent_id=parent.parent_id, error=exc.message
            )
        if order.status is not OrderStatus.SUBMITTED:
            log.info(
                "slice refused", parent_id=parent.parent_id, slice=send.slice_no,
                code=order.error_code,
            )  # fmt: skip
            core.warnings.pop(order.order_id, None)
            return 0
        core.warnings.pop(order.order_id, None)
        try:
            submitting.send(core, order, intent)
        except OrderGateError as exc:  # recorded; recovery and tracking settle it
            log.warning("slice send failed", order_id=order.order_id, error=exc.message)
        return 1

    def _cancel_children(self, order_ids: tuple[str, ...], reason: str) -> None:
        for order_id in order_ids:
            try:
                cancelling.cancel(self.core, order_id, reason=f"algo_{reason}")
            except OrderGateError as exc:  # it ended on its own meanwhile
                log.info("child cancel not made", order_id=order_id, error=exc.message)

    def _save(self, parent: ParentOrder, *, untrack: bool = True) -> None:
        """Write ``parent`` (its flow of volume with it); forget it once terminal."""
        self.book.update(parent)
        if parent.status.is_terminal and untrack:
            self._untrack(parent)
        else:
            self._parents()[parent.parent_id] = parent

    def children(self, parent: ParentOrder) -> list[ChildState]:
        """The parent's children as stored, slice 1 first."""
        return self._kids.states(parent)

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
                self._save(parent)
                self._track(parent)
            self._work(parent)
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
            self._save(changed)
            if new_limit is not None and new_limit != parent.limit_price:
                self._cancel_children(
                    tuple(c.order_id for c in children if c.is_open and not c.cancel_pending),
                    "parent_modified",
                )
            self._work(changed)
            return self.report(parent_id)

    def _get(self, parent_id: str) -> ParentOrder:
        known = self._parents().get(parent_id)
        parent = self._fresh(known) if known is not None else self.book.get(parent_id)
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
                learned=self._profile(parent, terms),
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
