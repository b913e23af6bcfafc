"""One parent's steps: what the pure rules decide (``ordergate/algos``), carried out.

:class:`ParentSteps` reads a working parent's children from the store — their fills as
the broker reported them — asks :func:`ordergate.algos.decide.next_step` what to do at
the parent's current slot of its schedule, and does it: a child is recorded and gated
through the normal submit path under the key ``<parent key>/slice-N``
(:func:`child_intent`), then sent; a child whose slice ended is canceled, and what it
left rolls into the next slice; a parent that is done is written as such.

Slice N's intent is durable before it is sent, and N comes from the children the store
holds, so a restarted engine finds every child it made and never makes one twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import structlog

from ordergate.algos import decide, schedules
from ordergate.algos.parent import ChildState, ParentOrder, slice_key
from ordergate.domain.algo_terms import AlgoKind, AlgoTerms
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import OrderGateError
from ordergate.domain.intent import OrderIntent
from ordergate.domain.money import ZERO
from ordergate.engine import cancelling, submitting
from ordergate.engine.accepting import create
from ordergate.engine.algo_children import ChildBook
from ordergate.engine.algo_gates import SliceGates
from ordergate.engine.algo_working import WorkingParents
from ordergate.engine.core import EngineCore, capabilities_of
from ordergate.store.parents import ParentBook

log = structlog.get_logger("ordergate.algos")


class VolumeProfiles(Protocol):
    """Where VWAP learns a volume profile when its terms give none (a backtest's data)."""

    def profile(
        self, symbol: str, start: datetime, end: datetime, slices: int
    ) -> tuple[Decimal, ...]: ...


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


class ParentSteps:
    """The steps of the parents of one desk; the desk holds the lock around them."""

    def __init__(
        self,
        core: EngineCore,
        working: WorkingParents,
        book: Callable[[], ParentBook],
        *,
        profiles: VolumeProfiles | None = None,
    ) -> None:
        self.core = core
        self.working = working
        self._book = book
        self.profiles = profiles
        self.gates = SliceGates(core.gates)
        self.kids = ChildBook(core.store, self.ends_at)
        self._learned: dict[str, tuple[Decimal, ...]] = {}

    @property
    def book(self) -> ParentBook:
        return self._book()

    def parents(self) -> dict[str, ParentOrder]:
        return self.working.parents(self.book)

    def fresh(self, parent: ParentOrder) -> ParentOrder:
        """The parent as stored, when another process changed it (volume kept)."""
        return self.working.fresh(parent, self.book.get(parent.parent_id))

    def untrack(self, parent: ParentOrder) -> None:
        self.parents()
        self.working.untrack(parent)

    def work(self, parent: ParentOrder) -> int:
        """Steps of one parent until it has to wait; the number of children sent (0 or
        1). A cancel the broker confirms at once is followed by the next step now."""
        for _ in range(3):
            parent = self.fresh(parent)
            terms = parent.intent.algo
            if terms is None or parent.status.is_terminal:
                self.untrack(parent)
                return 0
            parent = self.working.absorb(parent)
            now = self.core.clock.now()
            children = self.children(parent)
            filled = sum((c.filled for c in children), ZERO)
            slot = self.slot(parent, terms, now, filled)
            step = decide.next_step(terms, parent.qty, parent.status, children, slot, now)
            if isinstance(step, decide.Send):
                return self._send(parent, step)
            if isinstance(step, decide.Finish):
                self.save(parent.with_(now, status=step.status))
                log.info("parent order ended", parent_id=parent.parent_id, status=step.status.value)
                return 0
            if not isinstance(step, decide.CancelChildren) or not step.order_ids:
                return 0
            self.cancel_children(step.order_ids, step.reason)
            parent = self.parents().get(parent.parent_id, parent)
        return 0

    def native_display(self, terms: AlgoTerms) -> Decimal | None:
        """An iceberg's display quantity when the broker shows it natively (its
        capability ``display_qty``): then one child of all that is left carries it,
        rather than a child of the display quantity refilled as it fills."""
        if terms.kind is not AlgoKind.ICEBERG or not capabilities_of(self.core.broker).display_qty:
            return None
        return terms.display_qty

    def slot(
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
            learned=self.profile(parent, terms),
        )

    def ends_at(self, parent: ParentOrder, created_at: datetime) -> datetime | None:
        """When the slice of a child made at ``created_at`` ends (None: it lives until
        it fills)."""
        terms = parent.intent.algo
        return None if terms is None else self.slot(parent, terms, created_at, ZERO).ends_at

    def profile(self, parent: ParentOrder, terms: AlgoTerms) -> tuple[Decimal, ...]:
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
                self.kids.add(parent, existing.order_id)
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
        self.kids.add(parent, order.order_id)
        try:  # a hint (the children are the truth): it must never keep a child from going
            self.save(parent.with_(core.clock.now(), slices=send.slice_no), untrack=False)
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

    def cancel_children(self, order_ids: tuple[str, ...], reason: str) -> None:
        for order_id in order_ids:
            try:
                cancelling.cancel(self.core, order_id, reason=f"algo_{reason}")
            except OrderGateError as exc:  # it ended on its own meanwhile
                log.info("child cancel not made", order_id=order_id, error=exc.message)

    def save(self, parent: ParentOrder, *, untrack: bool = True) -> None:
        """Write ``parent`` (its flow of volume with it); forget it once terminal."""
        self.book.update(parent)
        if parent.status.is_terminal and untrack:
            self.untrack(parent)
        else:
            self.parents()
            self.working.put(parent)

    def children(self, parent: ParentOrder) -> list[ChildState]:
        """The parent's children as stored, slice 1 first."""
        return self.kids.states(parent)
