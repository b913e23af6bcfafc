"""Pre-trade risk: the gate chain, kill switches, trading state, loss breakers, limits.

Build the default chain with :func:`build_gate_chain` (order documented in
:mod:`ordergate.risk.chain`); feed fills and equity to the :class:`RiskLedger`.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Where each name lives, imported on first use (``ordergate --help`` needs none).
_EXPORTS = {
    "BuyingPowerConfig": "ordergate.risk.account",
    "BuyingPowerGate": "ordergate.risk.account",
    "DuplicateGuardConfig": "ordergate.risk.account",
    "DuplicateOrderGate": "ordergate.risk.account",
    "Gate": "ordergate.risk.base",
    "reduces_exposure": "ordergate.risk.base",
    "utc_trading_day": "ordergate.risk.base",
    "BreakerConfig": "ordergate.risk.breakers",
    "DailyLossGate": "ordergate.risk.breakers",
    "DrawdownGate": "ordergate.risk.breakers",
    "LossStreakGate": "ordergate.risk.breakers",
    "MaxTradesGate": "ordergate.risk.breakers",
    "StrategyTradesGate": "ordergate.risk.breakers",
    "ExpiryGate": "ordergate.risk.chain",
    "GateChain": "ordergate.risk.chain",
    "Verdict": "ordergate.risk.chain",
    "build_gate_chain": "ordergate.risk.chain",
    "RiskConfig": "ordergate.risk.config",
    "InMemoryKillSwitchRepository": "ordergate.risk.killswitch",
    "KillSwitch": "ordergate.risk.killswitch",
    "KillSwitchBoard": "ordergate.risk.killswitch",
    "KillSwitchGate": "ordergate.risk.killswitch",
    "KillSwitchKind": "ordergate.risk.killswitch",
    "KillSwitchRepository": "ordergate.risk.killswitch",
    "KillSwitchState": "ordergate.risk.killswitch",
    "AccountDay": "ordergate.risk.ledger",
    "FillRecord": "ordergate.risk.ledger",
    "LedgerFill": "ordergate.risk.ledger",
    "RiskLedger": "ordergate.risk.ledger",
    "StrategyDay": "ordergate.risk.ledger",
    "InstrumentLimits": "ordergate.risk.limits",
    "InstrumentSpec": "ordergate.risk.limits",
    "LotSizeGate": "ordergate.risk.limits",
    "MaxNotionalGate": "ordergate.risk.limits",
    "MaxQtyGate": "ordergate.risk.limits",
    "MinQtyGate": "ordergate.risk.limits",
    "PriceBandGate": "ordergate.risk.limits",
    "TickSizeGate": "ordergate.risk.limits",
    "TradableGate": "ordergate.risk.limits",
    "EmergencyConfig": "ordergate.risk.trading_state",
    "MarketableStyle": "ordergate.risk.trading_state",
    "Posture": "ordergate.risk.trading_state",
    "TradingControls": "ordergate.risk.trading_state",
    "TradingState": "ordergate.risk.trading_state",
    "TradingStateGate": "ordergate.risk.trading_state",
    "make_marketable": "ordergate.risk.trading_state",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ordergate.risk' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


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
