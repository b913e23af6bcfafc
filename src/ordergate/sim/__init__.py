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

from ordergate.sim.costs import CostConfig
from ordergate.sim.data import Bar, MarketEvent, Quote, Tick, Trade
from ordergate.sim.fees import (
    BpsFee,
    FeeModel,
    FlatFee,
    MakerTaker,
    NoFees,
    PerShareFee,
    TieredFee,
    fee_model_from_name,
)
from ordergate.sim.fills import BidAsk, FixedBps, NoSlippage, SlippageModel, SquareRootImpact
from ordergate.sim.latency import FixedLatency, LatencyModel, NoLatency, RandomLatency
from ordergate.sim.matching import FillModel, fill_model_from_name
from ordergate.sim.order import VenueOrder
from ordergate.sim.tif import Session
from ordergate.sim.venue import SimulatedVenue

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
