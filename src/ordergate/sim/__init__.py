"""Simulation: fill, fee and latency models and the venue they drive.

Shared by the paper broker and backtests, so that what a backtest assumed about
fills is what paper trading does:

- :mod:`~ordergate.sim.data` — market events (mark, quote, trade, bar) and price paths;
- :mod:`~ordergate.sim.fills` — slippage: fixed bps, bid/ask, square-root impact;
- :mod:`~ordergate.sim.matching` — the fill model and the order-type rules;
- :mod:`~ordergate.sim.fees` — fee schedules;
- :mod:`~ordergate.sim.latency` — delays to the venue;
- :mod:`~ordergate.sim.costs` — the three models from one set of settings;
- :mod:`~ordergate.sim.tif` — time in force and sessions;
- :mod:`~ordergate.sim.venue` — the deterministic venue.
"""

from __future__ import annotations

import importlib
from typing import Any

# imported on first use: the command line's start-up must not load every model
_HOMES = {
    "Bar": "ordergate.sim.data",
    "BidAsk": "ordergate.sim.fills",
    "BpsFee": "ordergate.sim.fees",
    "CostConfig": "ordergate.sim.costs",
    "FeeModel": "ordergate.sim.fees",
    "FillModel": "ordergate.sim.matching",
    "FixedBps": "ordergate.sim.fills",
    "FixedLatency": "ordergate.sim.latency",
    "FlatFee": "ordergate.sim.fees",
    "LatencyModel": "ordergate.sim.latency",
    "MakerTaker": "ordergate.sim.fees",
    "MarketEvent": "ordergate.sim.data",
    "NoFees": "ordergate.sim.fees",
    "NoLatency": "ordergate.sim.latency",
    "NoSlippage": "ordergate.sim.fills",
    "PerShareFee": "ordergate.sim.fees",
    "Quote": "ordergate.sim.data",
    "RandomLatency": "ordergate.sim.latency",
    "Session": "ordergate.sim.tif",
    "SimulatedVenue": "ordergate.sim.venue",
    "SlippageModel": "ordergate.sim.fills",
    "SquareRootImpact": "ordergate.sim.fills",
    "Tick": "ordergate.sim.data",
    "TieredFee": "ordergate.sim.fees",
    "Trade": "ordergate.sim.data",
    "VenueOrder": "ordergate.sim.order",
    "fee_model_from_name": "ordergate.sim.fees",
    "fill_model_from_name": "ordergate.sim.matching",
}

__all__ = [
    "Bar",
    "BidAsk",
    "BpsFee",
    "CostConfig",
    "FeeModel",
    "FillModel",
    "FixedBps",
    "FixedLatency",
    "FlatFee",
    "LatencyModel",
    "MakerTaker",
    "MarketEvent",
    "NoFees",
    "NoLatency",
    "NoSlippage",
    "PerShareFee",
    "Quote",
    "RandomLatency",
    "Session",
    "SimulatedVenue",
    "SlippageModel",
    "SquareRootImpact",
    "Tick",
    "TieredFee",
    "Trade",
    "VenueOrder",
    "fee_model_from_name",
    "fill_model_from_name",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ordergate.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
