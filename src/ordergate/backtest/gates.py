"""The pre-trade gates of a backtest: the live risk desk, fed by the backtest's fills.

:func:`risk_gates` returns a factory the runner calls with the simulated clock, the
engine's bus and the run's store: it builds the same :class:`~ordergate.risk.desk.RiskDesk`
as ``ordergate serve`` and subscribes it to the fills the engine books, so the loss and
trade-count breakers see the backtest's P&L in simulated time.
"""

from __future__ import annotations

from collections.abc import Callable

from ordergate.bus.memory import InProcessBus
from ordergate.clock import Clock
from ordergate.engine.ports import PreTradeCheck
from ordergate.risk.base import utc_trading_day
from ordergate.risk.config import RiskConfig
from ordergate.risk.desk import RiskDesk
from ordergate.store.base import Store

GatesFactory = Callable[[Clock, InProcessBus, Store], PreTradeCheck]


def risk_gates(config: RiskConfig | None = None) -> GatesFactory:
    """A factory of the default gate chain under ``config`` (default: ``RiskConfig()``)."""
    risk = config or RiskConfig()

    def build(clock: Clock, bus: InProcessBus, store: Store) -> PreTradeCheck:
        desk = RiskDesk(store, clock, risk, trading_day=utc_trading_day)
        bus.subscribe("executions.report", desk.on_event)
        return desk

    return build
