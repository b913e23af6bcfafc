"""Costs from one place: the fill, fee and latency models a venue runs, by name.

The paper broker and a backtest read the same settings (``FILL_MODEL``,
``SLIPPAGE_BPS``, ``FILL_PARTICIPATION``, ``FEE_*``, ``LATENCY_*``; see
:class:`~ordergate.config.Settings`), so the same settings give the same fills on the
same prices. :meth:`CostConfig.effective` is what a backtest's summary echoes: the
values that applied, defaults resolved (a ``participation`` model's 10 % included).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ordergate.domain.money import fmt
from ordergate.sim.fees import FeeModel, fee_model_from_name
from ordergate.sim.latency import FixedLatency, LatencyModel, NoLatency, RandomLatency
from ordergate.sim.matching import FillModel, fill_model_from_name

if TYPE_CHECKING:
    from ordergate.config import Settings


@dataclass(frozen=True, slots=True, kw_only=True)
class CostConfig:
    """Every cost knob of a simulated venue, with the settings' defaults."""

    fill_model: str = "fixed_bps"
    slippage_bps: Decimal = Decimal(5)
    participation: Decimal | None = None
    lot: Decimal = Decimal(1)
    fee_model: str = "per_share"
    fee_per_share: Decimal = Decimal("0.005")
    fee_minimum: Decimal = Decimal("1.00")
    fee_bps: Decimal = Decimal(1)
    fee_maker_bps: Decimal = Decimal(1)
    fee_taker_bps: Decimal = Decimal(5)
    fee_flat: Decimal = Decimal(1)
    latency_ms: int = 0
    jitter_ms: int = 0
    seed: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> CostConfig:
        """The costs ``settings`` name (``fill_model`` unset: ``exec_slippage_model``,
        or ``bid_ask`` with ``use_bid_ask_spread``)."""
        fill = settings.fill_model or (
            "bid_ask" if settings.use_bid_ask_spread else settings.exec_slippage_model
        )
        return cls(
            fill_model=fill,
            slippage_bps=settings.slippage_bps,
            participation=settings.fill_participation,
            lot=settings.fill_lot,
            fee_model=settings.fee_model,
            fee_per_share=settings.fee_per_share,
            fee_minimum=settings.fee_minimum,
            fee_bps=settings.fee_bps,
            fee_maker_bps=settings.fee_maker_bps,
            fee_taker_bps=settings.fee_taker_bps,
            fee_flat=settings.fee_flat,
            latency_ms=settings.latency_ms,
            jitter_ms=settings.latency_jitter_ms,
            seed=settings.latency_seed,
        )

    def fills(self) -> FillModel:
        return fill_model_from_name(
            self.fill_model, bps=self.slippage_bps, participation=self.participation, lot=self.lot
        )

    def fees(self) -> FeeModel:
        per_share = self.fee_model.lower().replace("-", "_") == "per_share"
        return fee_model_from_name(
            self.fee_model,
            rate=self.fee_per_share,
            minimum=self.fee_minimum if per_share else None,
            bps=self.fee_bps,
            amount=self.fee_flat,
            maker_bps=self.fee_maker_bps,
            taker_bps=self.fee_taker_bps,
        )

    def latency(self) -> LatencyModel:
        """``latency_ms`` plus up to ``jitter_ms`` drawn from ``random.Random(seed)``."""
        if self.latency_ms < 0 or self.jitter_ms < 0:
            raise ValueError("a latency cannot be negative")
        base = timedelta(milliseconds=self.latency_ms)
        if self.jitter_ms:
            jitter = timedelta(milliseconds=self.jitter_ms)
            return RandomLatency(base, jitter, random.Random(self.seed))
        return FixedLatency(base) if self.latency_ms else NoLatency()

    def effective(self) -> dict[str, Any]:
        """The values that apply, defaults resolved, with only the fee knobs the fee
        model reads."""
        fills = self.fills()
        fee_knobs = {
            "per_share": {"fee_per_share": self.fee_per_share, "fee_minimum": self.fee_minimum},
            "bps": {"fee_bps": self.fee_bps},
            "flat": {"fee_flat": self.fee_flat},
            "maker_taker": {
                "fee_maker_bps": self.fee_maker_bps,
                "fee_taker_bps": self.fee_taker_bps,
            },
        }.get(self.fee_model.lower().replace("-", "_"), {})
        return {
            "fill_model": self.fill_model,
            "slippage": type(fills.slippage).__name__,
            "slippage_bps": fmt(self.slippage_bps),
            "participation": fmt(fills.participation),
            "lot": fmt(fills.lot),
            "fee_model": self.fee_model,
            **{k: fmt(v) for k, v in fee_knobs.items()},
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "seed": self.seed,
        }
