"""Brackets (seed 004): SL and TP children placed from the entry's *fill* price.

An entry with ``sl_offset_pct``/``tp_offset_pct`` is protected as soon as it fills,
and as far as it has filled. In the unit of work that books a fill of the entry, the
engine records a *tranche*: a STOP at ``fill × (1 + sl_offset_pct)`` and a LIMIT at
``fill × (1 + tp_offset_pct)``, on the other side, for the quantity not yet protected,
priced from the average price of that quantity. An entry that fills at once has one
tranche (seed 004's example: a fill at 151 gives 147.98 and 155.53); one that fills
400, rests, then fills 600 more has a tranche of 400 at once and one of 600 later —
a position is never left without its protection while the rest of the entry works.

Prices land on the instrument's tick when the engine knows it (``InstrumentInfo``: the
risk desk's limits), else keep the precision of the fills they come from, and at least
cents (``151.00`` gives 147.98; ``150.075`` gives 147.074): a multi-fill average
divides, and a broker refuses a stop at 98.326666666666666666666666667 — or at
4410.245 on a future that trades in quarters.

The two legs of a tranche are one-cancels-other, carried as the broker's capabilities
allow: where it links orders natively (``native_oco`` / ``native_oca`` /
``native_bracket``) both legs go out with a per-tranche OCO group and the broker
cancels one when the other fills; where it does not, both go out and the engine
cancels the other leg when one starts to fill; and where working orders reserve their
quantity (``reserves_quantity``: a second full-size exit would be refused) with
nothing native, the engine *holds* the take-profit — recorded ``PENDING``, armed,
never sent — with only the stop working, and when a mark reaches the target it cancels
the stop and sends the take-profit once the cancel is confirmed: one leg working at a
time, never both. Children skip the pre-trade gates: a kill switch stops new exposure, never
the protection of a position already open.

Keys derive from the entry's (``<key>:sl``, ``<key>:tp``, then ``<key>:sl:2`` …), and
each child's intent records the price it was based on, so a repeated broker message or
a restart never places a tranche twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from ordergate.domain.enums import OrderStatus, OrderType, TimeInForce
from ordergate.domain.intent import OrderIntent
from ordergate.domain.money import ONE, ZERO, fmt, quantize
from ordergate.domain.order import Order

if TYPE_CHECKING:
    from ordergate.engine.recorder import Step

ROLES = {"sl": OrderType.STOP, "tp": OrderType.LIMIT}
#: decimal places of bracket prices: those of the fills, at least these, at most the cap
MIN_PLACES, MAX_PLACES = 2, 8
#: the metadata keys a child's intent carries
TRANCHE, BASIS = "bracket_tranche", "bracket_basis"


def child_key(parent_key: str, role: str, tranche: int = 1) -> str:
    """``<parent key>:sl`` / ``:tp``, ``…:sl:2`` for later tranches (hashed when the
    parent key is already long)."""
    suffix = role if tranche == 1 else f"{role}:{tranche}"
    key = f"{parent_key}:{suffix}"
    if len(key) <= 128:
        return key
    return f"bracket-{hashlib.sha256(parent_key.encode()).hexdigest()[:40]}:{suffix}"


def tranche_of(child_key_: str) -> tuple[str, int]:
    """(role, tranche) of a child's key."""
    parts = child_key_.rsplit(":", 2)
    if parts[-1].isdigit():
        return parts[-2], int(parts[-1])
    return parts[-1], 1


def oco_group(parent_client_order_id: str, child: Order | OrderIntent) -> str:
    """The broker-side OCO group of a child: one per tranche."""
    _, tranche = tranche_of(child.idempotency_key)
    base = f"{parent_client_order_id}:oco"
    return base if tranche == 1 else f"{base}:{tranche}"


def wants_bracket(order: Order) -> bool:
    """An entry with offsets that has something filled to protect."""
    return (
        order.parent_order_id is None
        and (order.sl_offset_pct is not None or order.tp_offset_pct is not None)
        and order.filled_qty > 0
        and order.avg_fill_price is not None
    )


def _counting_role(entry: Order) -> str:
    return "sl" if entry.sl_offset_pct is not None else "tp"


def protected(step: Step, entry: Order) -> tuple[int, Decimal, Decimal]:
    """(tranches placed, quantity they protect, the notional of their fill bases)."""
    role = _counting_role(entry)
    tranches, qty, notional = 0, ZERO, ZERO
    while True:
        stored = step.tx.find_intent(
            entry.account_id, child_key(entry.idempotency_key, role, tranches + 1)
        )
        if stored is None:
            return tranches, qty, notional
        payload = json.loads(stored.payload)
        leg_qty = Decimal(payload["qty"])
        basis = payload.get("metadata", {}).get(BASIS)
        # a child placed before bases were recorded protected the whole average
        leg_basis = Decimal(basis) if basis is not None else entry.avg_fill_price or ZERO
        tranches, qty, notional = tranches + 1, qty + leg_qty, notional + leg_basis * leg_qty


def bracket_intents(
    entry: Order,
    qty: Decimal,
    basis: Decimal,
    tranche: int = 1,
    places: int = MIN_PLACES,
    tick: Decimal | None = None,
) -> list[OrderIntent]:
    """The legs of one tranche: ``qty`` protected, priced from ``basis``, on ``tick``
    when given, else to ``places`` decimals."""
    step = Decimal(1).scaleb(-places)
    legs: list[OrderIntent] = []
    for role, offset in (("sl", entry.sl_offset_pct), ("tp", entry.tp_offset_pct)):
        if offset is None:
            continue
        exact = bracket_price(basis, offset)
        price = quantize(exact, tick) if tick else exact.quantize(step, ROUND_HALF_EVEN)
        kind = ROLES[role]
        legs.append(
            OrderIntent(
                idempotency_key=child_key(entry.idempotency_key, role, tranche),
                account_id=entry.account_id,
                strategy_id=entry.strategy_id,
                symbol=entry.symbol,
                side=entry.side.opposite,
                qty=qty,
                order_type=kind,
                stop_price=price if kind is OrderType.STOP else None,
                limit_price=price if kind is OrderType.LIMIT else None,
                time_in_force=TimeInForce.GTC,
                tag="stop_loss" if role == "sl" else "take_profit",
                reason=f"bracket of {entry.order_id}",
                metadata={TRANCHE: tranche, BASIS: fmt(basis)},
            )
        )
    return legs


def bracket_children(
    step: Step,
    entry: Order,
    create: Callable[[Step, OrderIntent, Order], Order],
    tick: Decimal | None = None,
) -> list[tuple[Order, OrderIntent]]:
    """Record in ``step`` a tranche for what ``entry`` filled and nothing protects yet;
    return its legs to send (none when everything filled is protected)."""
    if not wants_bracket(entry) or entry.avg_fill_price is None:
        return []
    tranches, qty, notional = protected(step, entry)
    rest = entry.filled_qty - qty
    if rest <= 0:
        return []
    basis = (entry.avg_fill_price * entry.filled_qty - notional) / rest
    places = max(
        (_places(f.last_px) for f in step.fills_booked if f.order_id == entry.order_id),
        default=MIN_PLACES,
    )
    places = min(max(places, MIN_PLACES), MAX_PLACES)
    return [
        (create(step, intent, entry), intent)
        for intent in bracket_intents(entry, rest, basis, tranches + 1, places, tick)
    ]


def _places(price: Decimal) -> int:
    exponent = price.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def sibling_keys(child: Order, parent_key: str) -> list[str]:
    """The other leg of ``child``'s tranche."""
    role, tranche = tranche_of(child.idempotency_key)
    return [child_key(parent_key, other, tranche) for other in ROLES if other != role]


def siblings(step: Step, child: Order) -> list[Order]:
    """The other legs of ``child``'s tranche, as stored."""
    if child.parent_order_id is None:
        return []
    parent = step.tx.get_order(child.parent_order_id)
    if parent is None:
        return []
    found = []
    for key in sibling_keys(child, parent.idempotency_key):
        stored = step.tx.find_intent(child.account_id, key)
        sibling = None if stored is None else step.tx.get_order(stored.order_id)
        if sibling is not None:
            found.append(sibling)
    return found


def reached(leg: Order, last: Decimal) -> bool:
    """Has the market reached a held take-profit leg (a limit: at or through it)?"""
    if leg.limit_price is None:
        return False
    return last >= leg.limit_price if leg.side.value == "SELL" else last <= leg.limit_price


def armed_siblings(step: Step, child: Order) -> list[Order]:
    """The legs of ``child``'s tranche the engine holds back (armed, not sent)."""
    return [
        s for s in siblings(step, child) if s.status is OrderStatus.PENDING and s.reason == "armed"
    ]


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
    """Seed 004's rule: ``fill × (1 + offset)``."""
    return fill_price * (ONE + offset)
