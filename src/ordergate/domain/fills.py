"""A fill (execution) as the broker reported it, keyed by the broker's execution id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ordergate.domain.enums import Side
from ordergate.domain.frozen import fast_init
from ordergate.domain.money import ZERO


class Amend(StrEnum):
    """What a broker's execution entry does to the fill booked under its ``exec_id``."""

    #: a trade: booked once, a repeat changes nothing
    NONE = ""
    #: a trade correction (FIX ExecType G, a late commission): its figures replace the
    #: booked ones; figures equal to the booked ones change nothing
    CORRECT = "CORRECT"
    #: a trade cancel (FIX ExecType H): the fill is un-booked; a repeat changes nothing
    BUST = "BUST"


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """One execution. Field names follow FIX: ``exec_id``, ``last_qty``, ``last_px``.

    ``exec_id`` is the broker's; applying the same ``exec_id`` twice changes nothing.
    ``commission`` is booked (position, P&L, cash) and is in the account's currency; a
    fee charged in another asset (BNB, the base currency of a crypto pair) is kept as
    ``foreign_fee`` in ``foreign_fee_currency``, recorded with the fill, never booked.
    """

    exec_id: str
    order_id: str
    symbol: str
    side: Side
    last_qty: Decimal
    last_px: Decimal
    commission: Decimal = ZERO
    ts: datetime
    liquidity: str = ""
    late: bool = False
    foreign_fee: Decimal = ZERO
    foreign_fee_currency: str | None = None

    @property
    def notional(self) -> Decimal:
        return self.last_qty * self.last_px

    @property
    def signed_qty(self) -> Decimal:
        return self.last_qty * self.side.sign
