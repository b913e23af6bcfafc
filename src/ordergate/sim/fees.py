"""Fee models: what a fill costs. Small objects, chosen by configuration."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from ordergate.domain.enums import Side
from ordergate.domain.money import ZERO, bps_of


class FeeModel(Protocol):
    def commission(self, side: Side, qty: Decimal, price: Decimal) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class NoFees:
    def commission(self, side: Side, qty: Decimal, price: Decimal) -> Decimal:
        return ZERO


@dataclass(frozen=True, slots=True)
class PerShareFee:
    """The common US schedule: a rate per share, a minimum per order and a cap as a
    share of the trade's value (IBKR fixed: 0.005/share, min 1.00, max 1 %)."""

    rate: Decimal = Decimal("0.005")
    minimum: Decimal = Decimal("1.00")
    max_pct: Decimal | None = Decimal("0.01")

    def commission(self, side: Side, qty: Decimal, price: Decimal) -> Decimal:
        fee = max(qty * self.rate, self.minimum)
        if self.max_pct is not None:
            fee = min(fee, qty * price * self.max_pct)
        return fee


@dataclass(frozen=True, slots=True)
class BpsFee:
    """A share of notional, in basis points (crypto venues, many non-US brokers)."""

    bps: Decimal = Decimal(1)

    def commission(self, side: Side, qty: Decimal, price: Decimal) -> Decimal:
        return bps_of(qty * price, self.bps)


@dataclass(frozen=True, slots=True)
class FlatFee:
    amount: Decimal = Decimal(1)

    def commission(self, side: Side, qty: Decimal, price: Decimal) -> Decimal:
        return self.amount


def fee_model_from_name(
    name: str,
    *,
    rate: Decimal | None = None,
    minimum: Decimal | None = None,
    bps: Decimal | None = None,
    amount: Decimal | None = None,
) -> FeeModel:
    """Build a fee model from its configured name: ``per_share``, ``bps``, ``flat``, ``none``."""
    key = name.lower()
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
    if key in ("none", "zero"):
        return NoFees()
    raise ValueError(f"unknown fee model {name!r}: use per_share, bps, flat or none")
