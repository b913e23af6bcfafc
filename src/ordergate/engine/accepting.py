"""Steps 2, 3 and 6a of the submit path, in one unit of work: record the intent under
its idempotency key, build the order, gate it, and mark it ``SUBMITTED`` — all before
the broker hears of it. Also what the submit path tells the caller afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

import structlog

from ordergate.domain.enums import OrderType, TimeInForce
from ordergate.domain.errors import IdempotencyConflict, InvalidIntent, PersistenceError
from ordergate.domain.events import RISK_WARNING_TOPIC, OrderRejected, OrderSubmitted
from ordergate.domain.gates import GateContext, Rejection
from ordergate.domain.idempotency import attempt_key
from ordergate.domain.intent import OrderIntent
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.order import Order
from ordergate.domain.report import ExecutionReport
from ordergate.domain.wire import BrokerOrder
from ordergate.engine.cash import reserved_notional
from ordergate.engine.core import (
    ARMED,
    EngineCore,
    Settled,
    capabilities_of,
    client_order_id_for,
)
from ordergate.engine.keys import current_intent
from ordergate.engine.ports import PreTradeCheck
from ordergate.engine.recorder import Step
from ordergate.store.base import DuplicateKey, StoredIntent
from ordergate.store.chain import intent_digest

log = structlog.get_logger("ordergate.engine")


def accept_all(core: EngineCore, intents: Sequence[OrderIntent]) -> list[tuple[Order, bool]]:
    """Steps 2, 3 and 6a for every intent, in one unit of work: (order, created now)
    for each. A key named twice in ``intents`` is one order (or a conflict)."""
    for intent in intents:
        check_display(core, intent)
    forms = [intent.canonical() for intent in intents]
    for _ in range(2):  # a concurrent insert of the same key loses the race once
        try:
            with core.step() as step:
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
                    existing, attempt = current_intent(step, *key)
                    if existing is not None:
                        accepted.append((replay(step, existing, payload_hash), False))
                    else:
                        order = create(core, step, intent, canonical, payload_hash, attempt=attempt)
                        created[key] = (order, payload_hash)
                        accepted.append((order, True))
                return accepted
        except DuplicateKey:
            continue
    raise PersistenceError("the idempotency key kept clashing; try again")


def check_display(core: EngineCore, intent: OrderIntent) -> None:
    """Refuse a display quantity the broker cannot show (nothing recorded, key free)."""
    if intent.display_qty is not None and not capabilities_of(core.broker).display_qty:
        raise InvalidIntent(
            "display_qty",
            "the broker has no display quantity (capability display_qty): send the whole "
            "order, or an iceberg parent (algo) that refills children",
        )


def replay(step: Step, existing: StoredIntent, payload_hash: str) -> Order:
    """The order a key already names; a different payload is a conflict."""
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


def create(
    core: EngineCore,
    step: Step,
    intent: OrderIntent,
    canonical: str,
    payload_hash: str,
    *,
    parent: Order | None = None,
    attempt: int = 1,
    armed: bool = False,
    client_order_id: str | None = None,
    parent_id: str | None = None,
    gates: PreTradeCheck | None = None,
) -> Order:
    """Record ``intent`` and its order; gate it (a child protecting a fill passes no
    gate, seed 004); mark it ``SUBMITTED`` or ``REJECTED`` — or, ``armed``, leave it
    ``PENDING`` for the engine to send when the market reaches it. An algorithm's child
    names its parent (``parent_id``) and passes ``gates``, the ones that change between
    slices (``engine/algos.py``)."""
    now = core.clock.now()
    intent_id = core.ids.next_id("int")
    order_id = core.ids.next_id("ord")
    stored_key = attempt_key(intent.idempotency_key, attempt)
    step.tx.insert_intent(
        StoredIntent(
            intent_id,
            intent.account_id,
            stored_key,
            payload_hash,
            canonical,
            now,
            order_id,
        )
    )
    mark = core.current_mark(intent.symbol)
    if parent is None and core.adjuster is not None:
        # the desk may change the terms (EMERGENCY: limits made marketable); the
        # intent stays recorded as the strategy sent it, so its key still replays
        intent = core.adjuster.adjust(intent, mark)
    order = Order(
        order_id=order_id,
        client_order_id=client_order_id or client_order_id_for(intent.account_id, stored_key),
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
        parent_order_id=parent_id if parent is None else parent.order_id,
        sl_offset_pct=intent.sl_offset_pct,
        tp_offset_pct=intent.tp_offset_pct,
        reason=ARMED if armed else "",
    )
    step.record_created(order, intent_id, intent_digest(payload_hash, canonical))
    if armed:
        return order
    adopted = client_order_id is not None  # the broker's own order: nothing to decide
    gated = parent is None and not adopted
    rejection = check_gates(core, step, intent, mark, order, gates) if gated else None
    if rejection is not None:
        step.record(order, OrderRejected(ts=now, code=rejection.code, message=rejection.message))
    else:
        step.record(order, OrderSubmitted(ts=now, attempt=1))
    return order


def adopt_broker_order(core: EngineCore, step: Step, view: BrokerOrder) -> Order:
    """Record an order the broker placed itself (``originated_by_broker``: Kite's MIS
    square-off, a liquidation, one placed in the broker's own terminal) as ours, under
    the broker's id, so that its fills are booked — positions, cash and P&L include
    them — and it is tracked like any order. It passes no gate: it is already placed."""
    intent = OrderIntent(
        idempotency_key=f"broker:{core.broker.adapter_id}:{view.broker_order_id}",
        account_id=view.account_id or "default",
        strategy_id="broker",
        symbol=view.symbol,
        side=view.side,
        qty=view.qty,
        order_type=view.order_type or OrderType.MARKET,
        limit_price=view.limit_price if view.order_type is OrderType.LIMIT else None,
        stop_price=view.stop_price,
        time_in_force=view.time_in_force or TimeInForce.DAY,
        reason="placed by the broker",
    )
    canonical, payload_hash = intent.canonical()
    log.warning(
        "adopting an order the broker placed itself",
        broker_order_id=view.broker_order_id,
        symbol=view.symbol,
    )
    return create(core, step, intent, canonical, payload_hash, client_order_id=view.client_order_id)


def create_child(
    core: EngineCore, step: Step, intent: OrderIntent, parent: Order, *, armed: bool = False
) -> Order:
    """A child order (a bracket leg): recorded like any order, under its own key."""
    canonical, payload_hash = intent.canonical()
    return create(core, step, intent, canonical, payload_hash, parent=parent, armed=armed)


def check_gates(
    core: EngineCore,
    step: Step,
    intent: OrderIntent,
    mark: Mark | None,
    order: Order,
    gates: PreTradeCheck | None = None,
) -> Rejection | None:
    """Step 3: the gates see the position, the working orders (a basket's earlier
    orders among them) and, when asked, the notional the account's orders reserve.
    ``gates``: these instead of the engine's (an algorithm's child)."""
    check = gates or core.gates
    if check is None:
        return None
    account = intent.account_id
    tx = step.tx

    def working_qty() -> Decimal:
        working = [
            *tx.open_orders_for(account, intent.symbol),
            *(o for o in step.created_for(account, intent.symbol) if o is not order),
        ]
        return sum((o.leaves_qty * o.side.sign for o in working), ZERO)

    def reserved() -> Decimal:
        orders = [
            *tx.open_orders_for(account),
            *(o for o in step.created_for(account, None) if o is not order),
        ]
        return reserved_notional(orders, core.cash.holdings(account))

    # read only by the gates that look at them (none of the operator's, with risk off)
    context = GateContext(
        position=lambda: tx.get_position(account, intent.symbol),
        mark=mark,
        open_orders_qty=working_qty,
        reserved_notional=reserved,
    )
    rejection = check.check(intent, context)
    warn = getattr(check, "warnings", None)  # optional: a WarningCheck
    if warn is not None and (notes := warn(intent, context)):
        _warn(core, step, order, notes)
    return rejection


def _warn(core: EngineCore, step: Step, order: Order, notes: tuple[str, ...]) -> None:
    """A gate said "go, but look": a stored event, a log line, the report's warnings."""
    log.warning("pre-trade warning", order_id=order.order_id, warnings=notes)
    body = {"order_id": order.order_id, "symbol": order.symbol, "warnings": list(notes)}
    step.emit(RISK_WARNING_TOPIC, order.order_id, body, order.created_at)
    core.warnings[order.order_id] = notes  # until the submit's report takes them


def report_for(
    core: EngineCore, order: Order, fresh: bool, settled: Settled | None, *, sent: bool
) -> ExecutionReport:
    """What the submit path tells the caller about one intent (alone or in a basket)."""
    report = _report_of(core, order, fresh, settled, sent=sent)
    notes = core.warnings.pop(order.order_id, None) if fresh else None
    return report if notes is None else replace(report, warnings=notes)


def _report_of(
    core: EngineCore, order: Order, fresh: bool, settled: Settled | None, *, sent: bool
) -> ExecutionReport:
    if not fresh:
        return core.report(order.order_id, replayed=True)
    if not sent:  # rejected by a gate: the broker never heard of it
        return ExecutionReport.of(order, (), simulated=core.simulated)
    if settled is not None and settled.complete:
        return ExecutionReport.of(settled.order, tuple(settled.fills), simulated=core.simulated)
    return core.report(order.order_id)
