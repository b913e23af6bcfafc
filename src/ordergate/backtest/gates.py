"""The pre-trade gates of a backtest: the live chain, fed by the backtest's own fills.

:func:`risk_gates` returns a factory the runner calls with the simulated clock and the
engine's bus: it builds :func:`~ordergate.risk.chain.build_gate_chain` with an
in-memory kill-switch board and trading controls, and feeds the risk ledger every fill
the engine books (``executions.report``), so the loss and trade-count breakers see the
backtest's P&L in simulated time.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ordergate.bus.memory import Event, InProcessBus
from ordergate.clock import Clock
from ordergate.engine.ports import PreTradeCheck
from ordergate.risk.base import utc_trading_day
from ordergate.risk.chain import build_gate_chain
from ordergate.risk.config import RiskConfig
from ordergate.risk.killswitch import InMemoryKillSwitchRepository, KillSwitchBoard
from ordergate.risk.ledger import RiskLedger
from ordergate.risk.trading_state import TradingControls

GatesFactory = Callable[[Clock, InProcessBus], PreTradeCheck]


def risk_gates(config: RiskConfig | None = None) -> GatesFactory:
    """A factory of the default gate chain under ``config`` (default: ``RiskConfig()``)."""
    risk = config or RiskConfig()

    def build(clock: Clock, bus: InProcessBus) -> PreTradeCheck:
        ledger = RiskLedger()

        def on_fill(event: Event) -> None:
            payload, fill = event.payload, event.payload["fill"]
            gross = Decimal(fill["realized_gross"])
            ts = clock.now()
            ledger.on_fill(
                payload["strategy_id"],
                payload["symbol"],
                gross - Decimal(fill["commission"]),
                ts,
                utc_trading_day(ts),
                closing=gross != 0,
                account_id=payload["account_id"],
                order_id=payload["order_id"],
                exec_id=fill["exec_id"],
            )

        bus.subscribe("executions.report", on_fill)
        board = KillSwitchBoard(InMemoryKillSwitchRepository(), clock)
        return build_gate_chain(
            risk, clock=clock, ledger=ledger, board=board, controls=TradingControls(clock)
        )

    return build
