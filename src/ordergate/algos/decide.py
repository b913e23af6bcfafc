"""The next step of a parent order, from its schedule and its children as stored.

One child works at a time. Each tick the engine asks :func:`next_step` with the
children it has recorded (their fills as the broker reported them) and gets one of:

- :class:`Send` — a new slice, never more than the parent has left
  (``qty - filled - working``), in the parent's lot;
- :class:`CancelChildren` — children whose slice has ended (what they did not fill
  rolls over into the next slice), or every working child when the parent is canceled
  or resized below what is working;
- :class:`Wait` — nothing due, or a child still working, or a refused child's slice
  not over yet (a kill switch or HALTED refuses one child per slice, not one per tick);
- :class:`Finish` — the parent is done: filled, canceled or its schedule over.

The rule that keeps a parent from overfilling: a child's quantity is at most what is
left after everything working is counted at its full open quantity, and a child being
canceled counts as working until the broker confirms the cancel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ordergate.algos.parent import ChildState, ParentStatus, Progress, progress_of
from ordergate.algos.schedules import ICEBERG_RETRY_S, Slot, floor_to, lot_of
from ordergate.domain.algo_terms import AlgoKind, AlgoTerms, Urgency
from ordergate.domain.money import ZERO


@dataclass(frozen=True, slots=True)
class Send:
    slice_no: int
    qty: Decimal
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class CancelChildren:
    order_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Wait:
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    status: ParentStatus


Step = Send | CancelChildren | Wait | Finish


def next_step(
    terms: AlgoTerms,
    qty: Decimal,
    status: ParentStatus,
    children: Sequence[ChildState],
    slot: Slot,
    now: datetime,
) -> Step:
    """What to do next for one parent (see the module)."""
    progress = progress_of(qty, children)
    working = [c for c in children if c.is_open]
    if status is ParentStatus.PENDING_CANCEL:
        return _wind_down(working, "parent", ParentStatus.CANCELED)
    if progress.filled >= qty:
        return _wind_down(working, "parent_filled", ParentStatus.COMPLETED)
    if progress.filled + progress.working > qty:  # resized below what is working
        return _wind_down(working, "parent_resized", None)
    if working:
        stale = tuple(
            c.order_id
            for c in working
            if not c.cancel_pending and c.ends_at is not None and now >= c.ends_at
        )
        return CancelChildren(stale, "slice_end") if stale else Wait()
    if slot.over:
        return Finish(ParentStatus.EXPIRED)
    latest = children[-1] if children else None
    if latest is not None and latest.filled < latest.qty:
        retry_at = latest.ends_at
        if retry_at is None:  # an iceberg's refused or canceled child
            retry_at = latest.created_at + timedelta(seconds=ICEBERG_RETRY_S)
        if now < retry_at:
            return Wait(retry_at)
    return _slice(terms, qty, progress, slot, len(children) + 1)


def _wind_down(
    working: Sequence[ChildState], reason: str, then: ParentStatus | None
) -> CancelChildren | Wait | Finish:
    to_cancel = tuple(c.order_id for c in working if not c.cancel_pending)
    if to_cancel:
        return CancelChildren(to_cancel, reason)
    if working:
        return Wait()  # cancels sent; the broker has not confirmed them yet
    return Finish(then) if then is not None else Wait()


def _slice(terms: AlgoTerms, qty: Decimal, progress: Progress, slot: Slot, number: int) -> Step:
    lot = lot_of(qty)
    left = progress.left
    if terms.urgency is Urgency.LOW and slot.remaining and terms.kind is not AlgoKind.POV:
        behind = max(ZERO, slot.before - progress.filled)
        share = floor_to(behind / slot.remaining, lot) if slot.remaining > 1 else behind
        due = (slot.target - slot.before) + share
    else:
        due = slot.target - progress.filled
    child = min(floor_to(due, lot), left)
    floor = terms.min_slice_qty or lot
    if child <= 0 or (child < floor and child < left):
        return Wait(slot.ends_at)
    return Send(number, child, slot.ends_at)
