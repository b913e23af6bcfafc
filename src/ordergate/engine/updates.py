"""What the broker says about our orders, applied: receipts, stream updates, polls.

One unit of work applies one or several broker views (a basket's receipts): statuses
through the transition table, every execution not seen yet (by ``exec_id``), the
broker's receipt (redacted) when it changed something. The step decides the work
that follows — bracket children to send for what filled, OCO siblings to cancel —
and returns it, once committed, to the core's child-order port, the one place where
follow-up work is carried out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import orjson
import structlog

from ordergate.domain.enums import OrderStatus, OrderType
from ordergate.domain.errors import InvalidIntent
from ordergate.domain.intent import OrderIntent
from ordergate.domain.order import Order
from ordergate.domain.wire import BrokerOrder
from ordergate.engine.accepting import adopt_broker_order, create_child
from ordergate.engine.brackets import (
    armed_siblings,
    bracket_children,
    open_oco_siblings,
    wants_bracket,
)
from ordergate.engine.core import EngineCore, FollowUp, Settled, capabilities_of, is_armed
from ordergate.engine.recorder import Step
from ordergate.engine.sync import apply_broker_order
from ordergate.store.base import DuplicateKey, StaleOrder
from ordergate.store.group_commit import defer_commit

log = structlog.get_logger("ordergate.engine")


def apply_broker_view(
    core: EngineCore, view: BrokerOrder, known: Order | None = None, *, defer: bool = False
) -> Settled | None:
    """Apply ``view``; return the order as recorded and the fills booked now.

    ``known`` is the order as the caller last recorded it (the receipt of a submit):
    it saves reading the order again. Should the order have changed meanwhile (a
    stream update won the race), the version check refuses the write and the view
    is applied again to the order as stored. ``defer``: see :func:`apply_broker_views`.
    """
    if known is not None:
        try:
            return apply_broker_views(core, [(view, known)], defer=defer)[view.client_order_id]
        except (StaleOrder, DuplicateKey):
            log.info("order changed before its receipt; applied again", order=known.order_id)
    return apply_broker_views(core, [(view, None)], defer=defer)[view.client_order_id]


def apply_broker_views(
    core: EngineCore, views: Sequence[tuple[BrokerOrder, Order | None]], *, defer: bool = False
) -> dict[str, Settled | None]:
    """Apply several views in one unit of work (a basket's receipts); by client order
    id, what each left. ``StaleOrder`` when an order in hand changed meanwhile.

    ``defer``: the broker's answer can be had again by a look-up, so the unit may return
    before its commit is durable and ride a later group commit (DESIGN.md, "Commits may
    be shared"). What it tells — the caller's report, the in-process bus — a crash
    cannot take back: recovery looks the order up and records the same answer again."""
    work = FollowUp()
    settled: dict[str, Settled | None] = {}
    for view, known in views:
        if known is None and view.originated_by_broker:
            _adopt(core, view)
    with core.step() as step:
        for given, known in views:
            view = given  # the broker's words are kept redacted (seed 000)
            if given.reason:
                view = replace(given, reason=core.redactor.reason(given.reason))
            order = known or step.tx.order_by_client_id(view.client_order_id)
            if order is None:
                log.warning(
                    "broker update for an unknown order", client_order_id=view.client_order_id
                )
                settled[view.client_order_id] = None
                continue
            settled[view.client_order_id] = _apply_one(core, step, order, view, work)
        if defer:
            defer_commit(step.tx)
    core.carry_out(work)
    return settled


def _adopt(core: EngineCore, view: BrokerOrder) -> None:
    """Record the broker's own order, in a unit of work of its own, once."""
    with core.step() as step:
        if step.tx.order_by_client_id(view.client_order_id) is not None:
            return
        try:
            adopt_broker_order(core, step, view)
        except InvalidIntent as exc:  # terms we cannot hold: reconcile shows the position
            log.error("the broker's own order not adopted", error=exc.message)


def _apply_one(
    core: EngineCore, step: Step, order: Order, view: BrokerOrder, work: FollowUp
) -> Settled:
    booked, recorded = len(step.fills_booked), step.event_count
    now = core.clock.now()
    apply_broker_order(step, order, view, now, core.account_currency)
    if view.raw and step.event_count > recorded:  # what the broker said, when it mattered
        raw = orjson.dumps(core.redactor.scrub(view.raw), default=str).decode()
        step.tx.add_receipt(order.order_id, order.client_order_id, core.broker.adapter_id, raw, now)
    caps = capabilities_of(core.broker)
    native = caps.native_oco or caps.native_oca or caps.native_bracket
    # where working orders reserve quantity and nothing native links the legs, a second
    # full-size exit would be refused: the take-profit is held (armed) by the engine
    hold = caps.reserves_quantity and not native and order.sl_offset_pct is not None

    def child(step: Step, intent: OrderIntent, parent: Order) -> Order:
        armed = hold and intent.order_type is OrderType.LIMIT
        return create_child(core, step, intent, parent, armed=armed)

    if wants_bracket(order):  # the tick size only for an entry with legs to place
        tick = None if core.instruments is None else core.instruments.tick_size(order.symbol)
        for leg, intent in bracket_children(step, order, child, tick):
            if is_armed(leg):
                work.armed.append(leg)
            else:
                work.children.append((leg, intent, order.client_order_id))
    if not native:  # a native OCO group cancels the other leg at the broker itself
        for sibling in open_oco_siblings(step, order):
            work.cancels.append((sibling, "oco"))
    if order.status is OrderStatus.CANCELED and order.reason == "oco":
        # the working leg was canceled for its armed sibling, which goes out now
        work.release.extend(s.order_id for s in armed_siblings(step, order))
    if order.pending_replace is not None and not order.is_open:
        work.handovers.append(order.order_id)  # a replacement takes over, or nothing left
    fills = [f for f in step.fills_booked[booked:] if f.order_id == order.order_id]
    return Settled(order, fills)
