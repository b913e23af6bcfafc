"""How a backtest simulates: the knobs of a run (fills, fees, latency, session, store),
from the same settings paper trading reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ordergate.config import Settings
from ordergate.sim.costs import CostConfig
from ordergate.sim.latency import LatencyModel
from ordergate.sim.tif import Session

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestConfig:
    """How a backtest simulates. Every field has a default; see :mod:`ordergate.sim`.

    The cost fields are those of :class:`~ordergate.sim.costs.CostConfig`, with the same
    defaults as the settings paper trading reads (:meth:`from_settings` takes them from
    there): ``fill_model`` ``fixed_bps`` (5 bps), ``bid_ask``, ``participation`` (5 bps,
    at most 10 % of each event's volume), ``sqrt_impact`` or ``none``; the ``fee_*``
    knobs of the ``fee_model``; ``latency_ms`` plus up to ``jitter_ms`` (drawn from
    ``random.Random(seed)``). Under a participation limit, data that does not say its
    volume is refused unless ``allow_missing_volume`` (then those events trade uncapped,
    and the summary says how many there were). ``session``: DAY orders expire at its
    close. ``risk_free_rate``: a yearly rate for Sharpe and Sortino. ``store_path``:
    ``:backtest:`` (the backtest store: memory bounded by the working orders, the
    records on a temporary file, the round trips spooled), ``:memory:`` (the in-memory
    store, every record in memory) or a fresh SQLite file. ``detail`` puts every
    order, fill and trade row in the result. ``freeze_gc`` keeps the cycle collector off
    what the run has already built (:mod:`~ordergate.heap`); it changes no result.
    ``venue_keep_final``: on the backtest store, the venue forgets its final orders but
    the last this many (:mod:`~ordergate.sim.retired`); it changes no result.
    """

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
    session: Session | None = None
    allow_missing_volume: bool = False
    risk_free_rate: Decimal = Decimal(0)
    starting_cash: Decimal = Decimal(1_000_000)
    store_path: str = ":backtest:"
    detail: bool = True
    equity_points: int = 2000
    freeze_gc: bool = True
    venue_keep_final: int = 4096

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> BacktestConfig:
        """The costs and session the settings name (as paper reads them), then
        ``overrides`` (``None`` values are ignored: a CLI flag left out)."""
        costs = CostConfig.from_settings(settings)
        session = None
        if settings.paper_session_close is not None:
            session = Session(close=settings.paper_session_close, tz=settings.paper_session_tz)
        values: dict[str, Any] = {
            "fill_model": costs.fill_model,
            "slippage_bps": costs.slippage_bps,
            "participation": costs.participation,
            "lot": costs.lot,
            "fee_model": costs.fee_model,
            "fee_per_share": costs.fee_per_share,
            "fee_minimum": costs.fee_minimum,
            "fee_bps": costs.fee_bps,
            "fee_maker_bps": costs.fee_maker_bps,
            "fee_taker_bps": costs.fee_taker_bps,
            "fee_flat": costs.fee_flat,
            "latency_ms": costs.latency_ms,
            "jitter_ms": costs.jitter_ms,
            "seed": costs.seed,
            "session": session,
            "starting_cash": settings.paper_starting_cash,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def costs(self) -> CostConfig:
        return CostConfig(
            fill_model=self.fill_model,
            slippage_bps=self.slippage_bps,
            participation=self.participation,
            lot=self.lot,
            fee_model=self.fee_model,
            fee_per_share=self.fee_per_share,
            fee_minimum=self.fee_minimum,
            fee_bps=self.fee_bps,
            fee_maker_bps=self.fee_maker_bps,
            fee_taker_bps=self.fee_taker_bps,
            fee_flat=self.fee_flat,
            latency_ms=self.latency_ms,
            jitter_ms=self.jitter_ms,
            seed=self.seed,
        )

    def latency(self) -> LatencyModel:
        return self.costs().latency()
