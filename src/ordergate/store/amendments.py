"""Fill amendments in the SQL stores: the statements and rows both backends share.

A busted fill keeps its row, marked ``busted``, so that its execution is never booked
again (``has_fill`` still finds it) while every read of what an order or a position
holds leaves it out. A correction rewrites the row's figures. Either way the row takes
the change of realized P&L the amendment made, so the fills still add up to their
position (see ``engine/amending.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ordergate.domain.fills import Fill
from ordergate.domain.money import fmt
from ordergate.store.base import BookedFill
from ordergate.store.rows import FILL_COLUMNS, fill_from_row

_COLUMNS = ", ".join(FILL_COLUMNS)
#: one booked fill with what the amendment path needs besides the fill itself
BOOKED_FILL = (
    f"SELECT {_COLUMNS}, realized_gross, busted, amend_id FROM fills "
    "WHERE order_id = ? AND exec_id = ?"
)
#: the fills a position holds, in booking order (what it is replayed from)
POSITION_FILLS = (
    f"SELECT {_COLUMNS} FROM fills WHERE account_id = ? AND symbol = ? AND busted = 0 "
    "ORDER BY fill_id"
)
AMEND_FILL = (
    "UPDATE fills SET last_qty = ?, last_px = ?, commission = ?, realized_gross = ?, "
    "busted = ?, amend_id = ? WHERE order_id = ? AND exec_id = ?"
)


def booked_from_row(row: Sequence[Any]) -> BookedFill:
    n = len(FILL_COLUMNS)
    realized, busted, amend_id = row[n:]
    return BookedFill(fill_from_row(row[:n]), Decimal(realized), bool(busted), str(amend_id))


def amend_values(
    before: Fill, after: Fill | None, realized_gross: Decimal, amend_id: str
) -> tuple[Any, ...]:
    """The parameters of :data:`AMEND_FILL`: a bust keeps the booked quantity and price
    for the record and carries no commission any more."""
    kept = after or before
    commission = "0" if after is None else fmt(after.commission) or "0"
    return (
        fmt(kept.last_qty),
        fmt(kept.last_px),
        commission,
        fmt(realized_gross) or "0",
        int(after is None),
        amend_id,
        before.order_id,
        before.exec_id,
    )
