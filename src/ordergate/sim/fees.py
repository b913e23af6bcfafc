"""Fee models: what a fill costs. Small objects, chosen by configuration.

Every model answers ``commission(side, qty, price, liquidity="T")`` in Decimal;
``liquidity`` is ``"M"`` when the fill added liquidity (a resting limit) and ``"T"``
when it took it. Only :class:`MakerTaker` looks at it.

- ``PerShareFee``: the common US schedule, per share with a minimum per order and a
  cap as a share of the trade's value (IBKR fixed: 0.005/share, min 1.00, max 1 %);
- ``BpsFee``: basis points of notional (crypto venues, many non-US brokers);
- ``FlatFee``: a fixed amount per fill;
- ``MakerTaker``: bps of notional, one rate for makers (may be negative: a rebate) and
  one for takers;
- ``TieredFee``: per share, the rate falling as the volume traded so far grows
  (IBKR tiered, monthly shares; exchange and regulatory fees not included);
- ``NoFees``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from ordergate.domain.enums import Side
from ordergate.domain.money import ZERO, bps_of

MAKER = "M"
TAKER = "T"


class FeeModel(Protocol):
    def commission(
        self, side: Side, qty: Decimal, price: Decimal, liquidity: str = TAKER
    ) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class NoFees:
    def commission(
        self, side: Side, qty: Decimal, price: Decimal, liquidity: str = TAKER
    ) -> Decimal:
        return ZERO


@dataclass(frozen=True, slots=True)
class PerShareFee:
    """Per share, at least ``minimum`` per fill, at most ``max_pct`` of the fill's value."""

    rate: Decimal = Decimal("0.005")
    minimum: Decimal = Decimal("1.00")
    max_pct: Decimal | None = Decimal("0.01")

    def commission(
        self, side: Side, qty: Decimal, price: Decimal, liquidity: str = TAKER
    ) -> Decimal:
        fee = max(qty * self.rate, self.minimum)
        if self.max_pct is not None:
            fee = min(fee, qty * price * self.max_pct)
        return fee


@dataclass(frozen=True, slots=True)
class BpsFee:
    """A share of notional, in basis points."""

    bps: Decimal = Decimal(1)

    def commission(
        self, side: Side, qty: Decimal, price: Decimal, liquidity: str = TAKER
    ) -> Decimal:
        return bps_of(qty * price, self.bps)


@dataclass(frozen=True, slots=True)
class FlatFee:
    amount: Decimal = Decimal(1)

    def commission(
        self, side: Side, qty: Decimal, price: Decimal, liquidity: str = TAKER
    ) -> Decimal:
        return self.amount


@dataclass(frozen=True, slots=True)
class MakerTaker:
    """Bps of notional by liquidity: a negative ``maker_bps`` is a rebate."""

    maker_bps: Decimal = Decimal(1)
    taker_bps: Decimal = Decimal(5)

    def commission(
        self, side: Side, qty: Decimal, price: Decimal, liquidity: str = TAKER
    ) -> Decimal:
        rate = self.maker_bps if liquidity == MAKER else self.taker_bps
        return bps_of(qty * price, rate)


#: IBKR Pro tiered, US stocks, by shares traded in the month (broker commission only).
IBKR_TIERS: tuple[tuple[Decimal, Decimal], ...] = (
    (Decimal(0), Decimal("0.0035")),
    (Decimal(300_000), Decimal("0.002")),
    (Decimal(3_000_000), Decimal("0.0015")),
    (Decimal(20_000_000), Decimal("0.001")),
    (Decimal(100_000_000), Decimal("0.0005")),
)


@dataclass(slots=True)
class TieredFee:
    """Per share at the rate of the tier the volume traded so far falls in.

    ``tiers`` are ``(from_volume, rate)`` in ascending order. The whole fill is charged
    at the rate of the volume *before* it (how brokers bill). The model counts the
    volume itself, so it is stateful: build one per month or per backtest; its count
    is not part of the paper broker's state file. ``volume`` seeds the count.
    """

    tiers: tuple[tuple[Decimal, Decimal], ...] = IBKR_TIERS
    minimum: Decimal = Decimal("0.35")
    max_pct: Decimal | None = Decimal("0.01")
    volume: Decimal = ZERO
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = [start for start, _ in self.tiers]
        if not self.tiers or starts != sorted(starts) or starts[0] != 0:
            raise ValueError("tiers must start at volume 0 and ascend")

    def rate_for(self, volume: Decimal) -> Decimal:
        rate = self.tiers[0][1]
        for start, tier_rate in self.tiers:
            if volume >= start:
                rate = tier_rate
        return rate

    def commission(
        self, side: Side, qty: Decimal, price: Decimal, liquidity: str = TAKER
    ) -> Decimal:
        with self._lock:
            rate = self.rate_for(self.volume)
            self.volume += qty
        fee = max(qty * rate, self.minimum)
        if self.max_pct is not None:
            fee = min(fee, qty * price * self.max_pct)
        return fee


def fee_model_from_name(
    name: str,
    *,
    rate: Decimal | None = None,
    minimum: Decimal | None = None,
    bps: Decimal | None = None,
    amount: Decimal | None = None,
    maker_bps: Decimal | None = None,
    taker_bps: Decimal | None = None,
) -> FeeModel:
    """Build a fee model from its configured name: ``per_share``, ``bps``, ``flat``,
    ``maker_taker``, ``tiered`` or ``none``."""
    key = name.lower().replace("-", "_")
    if key == "per_share":
        model = PerShareFee()
        return PerShareFee(
            rate=rate if rate is not None else model.rate,
            minimum=minimum if minimum is not None else model.minimum,
            max_pct=model.max_pct,
        )
    if key == "bps":
        return BpsFee(bps if bps is not None else Decimal(1))
    if key == "flat":
        return FlatFee(amount if amount is not None else Decimal(1))
    if key == "maker_taker":
        default = MakerTaker()
        return MakerTaker(
            maker_bps=maker_bps if maker_bps is not None else default.maker_bps,
            taker_bps=taker_bps if taker_bps is not None else default.taker_bps,
        )
    if key == "tiered":
        return TieredFee(minimum=minimum if minimum is not None else Decimal("0.35"))
    if key in ("none", "zero"):
        return NoFees()
    raise ValueError(
        f"unknown fee model {name!r}: use per_share, bps, flat, maker_taker, tiered or none"
    )
