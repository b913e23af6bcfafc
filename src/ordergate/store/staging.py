"""The rules both in-memory units of work apply alike when a write is staged: the
memory store's (:mod:`ordergate.store.memory`, applied at once, undone on failure) and
the backtest store's (:mod:`ordergate.store.backtest_uow`, held until a clean exit).

The SQL stores say the same in their statements (``MARK_UPSERT``, ``AMEND_FILL``);
these are the Python forms, written once.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.positions import Position
from ordergate.store.base import BookedFill


def mark_to_save(mark: Mark, current: Mark | None) -> Mark | None:
    """The mark to store over ``current``, or ``None`` when ``mark`` is older (an older
    sequence number than the one stored: see ``Mark.seq``); a mark without a sequence
    number keeps the stored one's."""
    if not mark.newer_than(current):
        return None
    if mark.seq is None and current is not None and current.seq is not None:
        return replace(mark, seq=current.seq)  # (no copy to carry a number none has)
    return mark


def amended(
    old: BookedFill, after: Fill | None, realized_gross: Decimal, amend_id: str
) -> BookedFill:
    """The booked fill after an amendment: a bust (``after`` ``None``) keeps the fill for
    the record with no commission any more; a correction books ``after``."""
    kept = replace(old.fill, commission=ZERO) if after is None else after
    return BookedFill(kept, realized_gross, after is None, amend_id)


def position_or_flat(position: Position | None, account_id: str, symbol: str) -> Position:
    """A copy of the stored position, or a flat one when none is stored."""
    if position is None:
        return Position(account_id=account_id, symbol=symbol)
    return position.copy()
