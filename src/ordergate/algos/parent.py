"""A parent order's record, its children as the algorithm sees them, its progress and
its transaction-cost figures. Pure types; the store maps them (``store/parents.py``).

Statuses (a parent is never sent to a broker; its children are):

``WORKING`` → ``COMPLETED`` (filled in full), ``EXPIRED`` (its window ended with some
left), ``CANCELED`` (through ``PENDING_CANCEL``, while its working children are
canceled); ``REJECTED`` when the gates refused the parent as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ordergate.domain.enums import Side
from ordergate.domain.intent import OrderIntent
from ordergate.domain.money import ZERO, fmt

#: The idempotency key of slice ``n`` of the parent keyed ``key``.
SLICE_KEY = "{key}/slice-{n}"
#: The longest key a parent may have: its children's keys add ``/slice-NNNNNN``.
MAX_PARENT_KEY = 112


def slice_key(parent_key: str, number: int) -> str:
    return SLICE_KEY.format(key=parent_key, n=number)


class ParentStatus(StrEnum):
    WORKING = "WORKING"
    PENDING_CANCEL = "PENDING_CANCEL"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {ParentStatus.COMPLETED, ParentStatus.EXPIRED, ParentStatus.CANCELED, ParentStatus.REJECTED}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParentOrder:
    """One parent as stored. ``qty`` and ``limit_price`` are the current terms (a modify
    changes them); ``intent`` is what was sent, whose key and hash a replay matches."""

    parent_id: str
    intent: OrderIntent
    payload_hash: str
    status: ParentStatus
    qty: Decimal
    limit_price: Decimal | None
    created_at: datetime
    updated_at: datetime
    arrival_price: Decimal | None = None
    #: volume and price x volume printed in the symbol since the start (POV, interval VWAP)
    market_volume: Decimal = ZERO
    market_notional: Decimal = ZERO
    #: slices recorded so far, as last written (a lower bound: the children are the truth)
    slices: int = 0
    error_code: str = ""
    error_message: str = ""
    version: int = 1

    @property
    def account_id(self) -> str:
        return self.intent.account_id

    @property
    def idempotency_key(self) -> str:
        return self.intent.idempotency_key

    @property
    def symbol(self) -> str:
        return self.intent.symbol

    @property
    def side(self) -> Side:
        return self.intent.side

    def with_(self, now: datetime, **changes: Any) -> ParentOrder:
        return replace(self, updated_at=now, version=self.version + 1, **changes)

    def state(self) -> dict[str, Any]:
        """The mutable part, as stored beside the intent."""
        return {
            "qty": fmt(self.qty),
            "limit_price": fmt(self.limit_price),
            "arrival_price": fmt(self.arrival_price),
            "market_volume": fmt(self.market_volume),
            "market_notional": fmt(self.market_notional),
            "slices": self.slices,
            "error_code": self.error_code,
            "error_message": self.error_message,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildState:
    """What the algorithm needs of one child order."""

    order_id: str
    slice_no: int
    qty: Decimal
    filled: Decimal
    leaves: Decimal
    is_open: bool
    cancel_pending: bool
    created_at: datetime
    #: when its slice ends (None: it lives until it fills)
    ends_at: datetime | None
    avg_price: Decimal | None = None
    status: str = ""


@dataclass(frozen=True, slots=True)
class Progress:
    qty: Decimal
    filled: Decimal
    working: Decimal
    notional: Decimal = ZERO

    @property
    def left(self) -> Decimal:
        """What may still be sent: never negative."""
        return max(ZERO, self.qty - self.filled - self.working)

    @property
    def avg_price(self) -> Decimal | None:
        return None if self.filled == 0 else self.notional / self.filled


def progress_of(qty: Decimal, children: Sequence[ChildState]) -> Progress:
    filled = sum((c.filled for c in children), ZERO)
    working = sum((c.leaves for c in children if c.is_open), ZERO)
    notional = sum((c.filled * c.avg_price for c in children if c.avg_price is not None), ZERO)
    return Progress(qty, filled, working, notional)


@dataclass(frozen=True, slots=True)
class Tca:
    """Transaction cost against the arrival price and the interval VWAP, in basis
    points, positive when the parent did worse (paid more on a buy)."""

    avg_price: Decimal | None
    arrival_price: Decimal | None
    interval_vwap: Decimal | None
    vs_arrival_bps: Decimal | None = None
    vs_vwap_bps: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "avg_price": fmt(self.avg_price),
            "arrival_price": fmt(self.arrival_price),
            "interval_vwap": fmt(self.interval_vwap),
            "vs_arrival_bps": fmt(self.vs_arrival_bps),
            "vs_vwap_bps": fmt(self.vs_vwap_bps),
        }


def tca_of(parent: ParentOrder, progress: Progress) -> Tca:
    avg = progress.avg_price
    vwap = parent.market_notional / parent.market_volume if parent.market_volume > 0 else None
    sign = parent.side.sign

    def bps(reference: Decimal | None) -> Decimal | None:
        if avg is None or not reference:
            return None
        return ((avg - reference) * sign / reference * 10_000).quantize(Decimal("0.01"))

    return Tca(avg, parent.arrival_price, vwap, bps(parent.arrival_price), bps(vwap))
