"""Brackets (seed 004): SL and TP children placed from the entry's *fill* price.

When an entry with ``sl_offset_pct``/``tp_offset_pct`` is done — filled, or canceled or
expired after a partial fill — the engine records two children in the same unit of
work: a STOP at ``fill × (1 + sl_offset_pct)`` and a LIMIT at
``fill × (1 + tp_offset_pct)``, on the other side, for the quantity that filled. They
are one-cancels-other: when one fills, the engine cancels the other (and passes the
OCO group to brokers that honour it natively). Children skip the pre-trade gates: a
kill switch stops new exposure, never the protection of a position already open.

Their idempotency keys derive from the entry's, so a repeated broker message or a
restart never places them twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from ordergate.domain.enums import OrderType, TimeInForce
from ordergate.domain.intent import OrderIntent
from ordergate.domain.money import ONE
from ordergate.domain.order import Order

if TYPE_CHECKING:
    from ordergate.engine.recorder import Step

ROLES = {"sl": OrderType.STOP, "tp": OrderType.LIMIT}


def child_key(parent_key: str, role: str) -> str:
    """``<parent key>:sl`` / ``:tp`` (hashed when the parent key is already long)."""
    key = f"{parent_key}:{role}"
    if len(key) <= 128:
        return key
    return f"bracket-{hashlib.sha256(parent_key.encode()).hexdigest()[:40]}:{role}"


def wants_bracket(order: Order) -> bool:
    """An entry with offsets, done, with something filled to protect."""
    return (
        order.parent_order_id is None
        and (order.sl_offset_pct is not None or order.tp_offset_pct is not None)
        and order.status.is_terminal
        and order.filled_qty > 0
        and order.avg_fill_price is not None
    )


def bracket_intents(entry: Order) -> list[OrderIntent]:
    """The children of a done entry, sized to what filled, priced from its fill."""
    fill_price = entry.avg_fill_price
    if fill_price is None:
        return []
    legs: list[OrderIntent] = []
    for role, offset in (("sl", entry.sl_offset_pct), ("tp", entry.tp_offset_pct)):
        if offset is None:
            continue
        price = fill_price * (ONE + offset)
        kind = ROLES[role]
        legs.append(
            OrderIntent(
                idempotency_key=child_key(entry.idempotency_key, role),
                account_id=entry.account_id,
                strategy_id=entry.strategy_id,
                symbol=entry.symbol,
                side=entry.side.opposite,
                qty=entry.filled_qty,
                order_type=kind,
                stop_price=price if kind is OrderType.STOP else None,
                limit_price=price if kind is OrderType.LIMIT else None,
                time_in_force=TimeInForce.GTC,
                tag="stop_loss" if role == "sl" else "take_profit",
                reason=f"bracket of {entry.order_id}",
            )
        )
    return legs


def sibling_keys(child: Order, parent_key: str) -> list[str]:
    """The other legs of ``child``'s bracket."""
    return [
        child_key(parent_key, role)
        for role in ROLES
        if child_key(parent_key, role) != child.idempotency_key
    ]


def bracket_children(
    step: Step, entry: Order, create: Callable[[Step, OrderIntent, Order], Order]
) -> list[tuple[Order, OrderIntent]]:
    """Record the SL/TP children of a done entry in ``step``, once; return them to send."""
    if not wants_bracket(entry):
        return []
    children = []
    for intent in bracket_intents(entry):
        if step.tx.find_intent(intent.account_id, intent.idempotency_key) is not None:
            continue  # placed already (a repeated broker message, a restart)
        children.append((create(step, intent, entry), intent))
    return children


def open_oco_siblings(step: Step, child: Order) -> list[str]:
    """The ids of the open siblings of a bracket child that has started to fill."""
    if child.parent_order_id is None or child.filled_qty == 0:
        return []
    parent = step.tx.get_order(child.parent_order_id)
    if parent is None:
        return []
    open_ids = []
    for key in sibling_keys(child, parent.idempotency_key):
        stored = step.tx.find_intent(child.account_id, key)
        sibling = None if stored is None else step.tx.get_order(stored.order_id)
        if sibling is not None and sibling.is_open:
            open_ids.append(sibling.order_id)
    return open_ids


def bracket_price(fill_price: Decimal, offset: Decimal) -> Decimal:
    """Seed 004's rule, exposed for reports: ``fill × (1 + offset)``."""
    return fill_price * (ONE + offset)
