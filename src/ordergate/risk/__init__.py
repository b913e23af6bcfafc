"""Pre-trade risk: the gate chain, kill switches, trading state, loss breakers, limits.

Build the default chain with :func:`build_gate_chain` (order documented in
:mod:`ordergate.risk.chain`); feed fills and equity to the :class:`RiskLedger`.
"""

from ordergate.risk.account import (
    BuyingPowerConfig,
    BuyingPowerGate,
    DuplicateGuardConfig,
    DuplicateOrderGate,
)
from ordergate.risk.base import Gate, reduces_exposure, utc_trading_day
from ordergate.risk.breakers import (
    BreakerConfig,
    DailyLossGate,
    DrawdownGate,
    LossStreakGate,
    MaxTradesGate,
    StrategyTradesGate,
)
from ordergate.risk.chain import ExpiryGate, GateChain, Verdict, build_gate_chain
from ordergate.risk.config import RiskConfig
from ordergate.risk.killswitch import (
    InMemoryKillSwitchRepository,
    KillSwitch,
    KillSwitchBoard,
    KillSwitchGate,
    KillSwitchKind,
    KillSwitchRepository,
    KillSwitchState,
)
from ordergate.risk.ledger import AccountDay, FillRecord, LedgerFill, RiskLedger, StrategyDay
from ordergate.risk.limits import (
    InstrumentLimits,
    InstrumentSpec,
    LotSizeGate,
    MaxNotionalGate,
    MaxQtyGate,
    MinQtyGate,
    PriceBandGate,
    TickSizeGate,
    TradableGate,
)
from ordergate.risk.trading_state import (
    EmergencyConfig,
    MarketableStyle,
    Posture,
    TradingControls,
    TradingState,
    TradingStateGate,
    make_marketable,
)

__all__ = [
    "AccountDay",
    "BreakerConfig",
    "BuyingPowerConfig",
    "BuyingPowerGate",
    "DailyLossGate",
    "DrawdownGate",
    "DuplicateGuardConfig",
    "DuplicateOrderGate",
    "EmergencyConfig",
    "ExpiryGate",
    "FillRecord",
    "Gate",
    "GateChain",
    "InMemoryKillSwitchRepository",
    "InstrumentLimits",
    "InstrumentSpec",
    "KillSwitch",
    "KillSwitchBoard",
    "KillSwitchGate",
    "KillSwitchKind",
    "KillSwitchRepository",
    "KillSwitchState",
    "LedgerFill",
    "LossStreakGate",
    "LotSizeGate",
    "MarketableStyle",
    "MaxNotionalGate",
    "MaxQtyGate",
    "MaxTradesGate",
    "MinQtyGate",
    "Posture",
    "PriceBandGate",
    "RiskConfig",
    "RiskLedger",
    "StrategyDay",
    "StrategyTradesGate",
    "TickSizeGate",
    "TradableGate",
    "TradingControls",
    "TradingState",
    "TradingStateGate",
    "Verdict",
    "build_gate_chain",
    "make_marketable",
    "reduces_exposure",
    "utc_trading_day",
]
