"""Busts and corrections of booked fills: the fill taken back (or changed) exactly.

A broker may cancel a trade it reported (FIX ExecType H) or correct it (G), and IB
sends a commission after its fill. The view says so per execution (``Execution.amend``).
What the step does with a bust or a correction, in its unit of work:

- the order takes the fill back (:class:`~ordergate.domain.events.FillAmended`): filled
  quantity, average price, fees, and a status by ``AMEND_EDGES``;
- the position is replayed from the fills it still holds, in booking order — average
  cost is path-dependent, so nothing but a replay gives the position the surviving
  fills alone make. Should the stored fills not add up to the stored position (fills
  purged by retention), the fill is reversed at its own price instead, and said so;
- the amended fill's row takes the change of realized P&L, so the fills still sum to
  their position; cash moves by exactly the difference of the two fills;
- one event (``executions.busted`` / ``executions.corrected``) records it all.

Idempotent: a bust of a busted fill, a correction already applied (same ``amend_id``
or the same figures) change nothing. An amendment of an execution never booked books
the corrected figures as a plain fill, or nothing for a bust.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import structlog

from ordergate.domain.enums import Side
from ordergate.domain.fills import Amend, Fill
from ordergate.domain.order import Order
from ordergate.domain.positions import Position
from ordergate.domain.wire import Execution

log = structlog.get_logger("ordergate.engine")


def amended_fill(booked: Fill, execution: Execution) -> Fill | None:
    """What ``execution`` leaves of the fill ``booked``: None for a bust, else the fill
    with the corrected figures (its time, liquidity and lateness stay)."""
    if execution.amend is Amend.BUST:
        return None
    return replace(
        booked,
        last_qty=execution.last_qty,
        last_px=execution.last_px,
        commission=execution.commission,
    )


def changes(booked: Fill, after: Fill | None) -> bool:
    if after is None:
        return True
    return (after.last_qty, after.last_px, after.commission) != (
        booked.last_qty,
        booked.last_px,
        booked.commission,
    )


def replayed(
    position: Position, held: list[Fill], before: Fill, after: Fill | None
) -> Position | None:
    """The position the held fills make once ``before`` is replaced by ``after`` (or
    dropped); None when the held fills do not make ``position`` (history purged)."""
    if _fold(position, held) != _state(position):
        return None
    key = (before.order_id, before.exec_id)
    kept: list[Fill] = []
    for fill in held:
        if (fill.order_id, fill.exec_id) != key:
            kept.append(fill)
        elif after is not None:
            kept.append(after)
    return _replay(position, kept)


def reversed_at_cost(position: Position, before: Fill, after: Fill | None) -> Position:
    """The fallback: ``before`` undone as an opposite fill at its own price (quantity,
    cash and fees exact; the realized and average-cost split approximate)."""
    out = position.copy()
    opposite = Side.SELL if before.side is Side.BUY else Side.BUY
    out.apply_fill(opposite, before.last_qty, before.last_px, -before.commission)
    if after is not None:
        out.apply_fill(after.side, after.last_qty, after.last_px, after.commission)
    log.warning(
        "fill amended without its position's full history; reversed at its own price",
        order_id=before.order_id,
        exec_id=before.exec_id,
    )
    return out


def _replay(like: Position, fills: list[Fill]) -> Position:
    out = Position(account_id=like.account_id, symbol=like.symbol, currency=like.currency)
    for fill in fills:
        out.apply_fill(fill.side, fill.last_qty, fill.last_px, fill.commission)
    return out


def _state(p: Position) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return p.qty, p.avg_price, p.realized_gross, p.commission


def _fold(like: Position, fills: list[Fill]) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return _state(_replay(like, fills))


def overwrite(position: Position, new: Position) -> None:
    """Give the step's position object ``new``'s figures (the step writes it at flush)."""
    position.qty = new.qty
    position.avg_price = new.avg_price
    position.realized_gross = new.realized_gross
    position.commission = new.commission


def amendment_for_unbooked(order: Order, execution: Execution) -> Execution | None:
    """An amendment of an execution the engine never booked: a correction is the trade
    as it stands now (booked as a plain fill), a bust is nothing to book."""
    if execution.amend is Amend.BUST:
        log.info(
            "bust of an execution never booked; nothing to take back",
            order_id=order.order_id,
            exec_id=execution.exec_id,
        )
        return None
    return replace(execution, amend=Amend.NONE)
