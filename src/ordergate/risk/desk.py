"""The risk desk: the gate chain wired to a store and an engine.

It owns the kill-switch board (persisted in the store, re-read at most once a second
so a switch set from the CLI or another process takes effect), the trading controls,
and the loss ledger — rebuilt from today's stored fills at start, then fed by the
engine's ``executions.report`` events after each commit (and its busts and corrections,
``executions.busted`` / ``executions.corrected``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from ordergate.bus.memory import Event
from ordergate.clock import Clock
from ordergate.domain.gates import GateContext, Rejection
from ordergate.domain.intent import OrderIntent
from ordergate.domain.market import Mark
from ordergate.risk.breakers import DrawdownGate
from ordergate.risk.broker_instruments import InstrumentSizes, with_broker_sizes
from ordergate.risk.chain import GateChain, build_gate_chain
from ordergate.risk.config import RiskConfig
from ordergate.risk.killswitch import (
    KillSwitch,
    KillSwitchBoard,
    KillSwitchKind,
    KillSwitchState,
)
from ordergate.risk.ledger import RiskLedger, trade_id
from ordergate.risk.limits import EquitySource
from ordergate.risk.trading_state import (
    ControlChange,
    Posture,
    TradingControls,
    TradingState,
    make_marketable,
)
from ordergate.store.base import Store, StoredControl, StoredKillSwitch


class StoreKillSwitchRepository:
    """Kill switches kept in the engine's store (``kill_switches`` table)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def load_all(self) -> list[KillSwitch]:
        return [
            KillSwitch(
                kind=KillSwitchKind(row.kind),
                target=row.target,
                state=KillSwitchState(row.state),
                reason=row.reason,
                actor=row.actor,
                updated_at=row.updated_at,
            )
            for row in self._store.kill_switches()
        ]

    def save(self, switch: KillSwitch) -> None:
        self._store.save_kill_switch(
            StoredKillSwitch(
                kind=switch.kind.value,
                target=switch.target,
                state=switch.state.value,
                reason=switch.reason,
                actor=switch.actor,
                updated_at=switch.updated_at,
            )
        )


#: The gates that run even with ``risk_enabled`` off: an operator's controls.
ALWAYS_ON = frozenset({"expiry", "kill_switch", "trading_state"})
#: The breakers that read the fills the ledger books (P&L, streaks, trade counts).
FILL_BREAKERS = frozenset({"daily_loss", "loss_streak", "max_trades", "strategy_trades"})
#: The gates an algorithm's child passes (issue 18): those that can change between its
#: slices. Size, notional and trade counts were checked once, on the parent as a whole.
SLICE_GATES = frozenset(
    {"kill_switch", "trading_state", "daily_loss", "drawdown", "loss_streak", "buying_power"}
)


class RiskDesk:
    """Everything a risk officer sets and watches, as one :class:`PreTradeCheck`."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        config: RiskConfig | None = None,
        *,
        trading_day: Callable[..., str],
        buying_power: Callable[[str], Decimal | None] | None = None,
        equity: EquitySource | None = None,
        refresh_seconds: float = 1.0,
        enabled: bool = True,
        sizes: InstrumentSizes | None = None,
    ) -> None:
        """``equity`` (account id → equity, or None when unknown) is what the per-order
        notional limit ``max_notional_equity_pct`` is a share of; the composition root
        gives the engine's equity. Without a source that limit does not apply.
        ``sizes`` (a broker that knows its instruments) gives tick and lot to symbols
        the limits do not describe (``risk/broker_instruments.py``)."""
        self.config = config or RiskConfig()
        if sizes is not None:
            limits = with_broker_sizes(self.config.limits, sizes)
            self.config = replace(self.config, limits=limits)
        self.clock = clock
        self.board = KillSwitchBoard(StoreKillSwitchRepository(store), clock)
        self.controls = TradingControls(clock)
        yesterday = trading_day(clock.now() - timedelta(days=1))
        self.ledger = RiskLedger.from_fills(store.fills_since(yesterday))
        self._trading_day = trading_day
        chain = build_gate_chain(
            self.config,
            clock=clock,
            ledger=self.ledger,
            board=self.board,
            controls=self.controls,
            buying_power=buying_power,
            equity=equity,
            trading_day=trading_day,
        )
        #: with risk off, only what no setting may turn off: expiry, switches, state
        self.chain: GateChain = (
            chain if enabled else GateChain(g for g in chain.gates if g.name in ALWAYS_ON)
        )
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self.refresh()

    @property
    def reads_fills(self) -> bool:
        """True when an armed breaker of the chain reads the fills fed to the ledger."""
        return any(
            gate.name in FILL_BREAKERS and getattr(gate, "armed", True) for gate in self.chain.gates
        )

    @property
    def reads_equity(self) -> bool:
        """True when the chain's drawdown breaker is armed (it reads the equity fed)."""
        return any(isinstance(g, DrawdownGate) and g.armed for g in self.chain.gates)

    @property
    def store(self) -> Store:
        """The store the desk reads and records on (its owner closes it)."""
        return self._store

    def refresh(self) -> None:
        """Re-read switches and controls (another process may have changed them)."""
        self.board.refresh()
        for row in self._store.trading_controls():
            change = ControlChange(
                value=row.value, actor=row.actor, reason=row.reason, at=row.updated_at
            )
            if row.name == "state":
                self.controls.state = TradingState(row.value)
                self.controls.state_change = change
            elif row.name == "posture":
                self.controls.posture = Posture(row.value)
                self.controls.posture_change = change
        self._refreshed = time.monotonic()

    def set_trading_state(self, state: str, *, actor: str, reason: str) -> ControlChange:
        """NORMAL, REDUCING (only exposure-reducing orders) or HALTED (no new orders)."""
        change = self.controls.set_state(state, actor=actor, reason=reason)
        self._save("state", change)
        return change

    def set_posture(self, posture: str, *, actor: str, reason: str) -> ControlChange:
        """NORMAL or EMERGENCY (seed 002's Black Swan: only reducing orders pass)."""
        change = self.controls.set_posture(posture, actor=actor, reason=reason)
        self._save("posture", change)
        return change

    def _save(self, name: str, change: ControlChange) -> None:
        self._store.save_trading_control(
            StoredControl(name, change.value, change.actor, change.reason, change.at)
        )

    def tick_size(self, symbol: str) -> Decimal | None:
        """The configured price increment of ``symbol`` (``InstrumentInfo``)."""
        return self.config.limits.spec(symbol).tick_size

    def adjust(self, intent: OrderIntent, mark: Mark | None) -> OrderIntent:
        """In the EMERGENCY posture, with ``emergency.make_limits_marketable`` on, a limit
        is priced through the quote so that reducing actually happens."""
        emergency = self.config.emergency
        if self.controls.posture is not Posture.EMERGENCY or not emergency.make_limits_marketable:
            return intent
        tick = self.config.limits.spec(intent.symbol).tick_size
        return make_marketable(intent, mark, emergency, tick_size=tick)

    def _refresh_if_stale(self) -> None:
        if time.monotonic() - self._refreshed >= self._refresh_seconds:
            self.refresh()

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        self._refresh_if_stale()
        with self._lock:
            return self.chain.check(intent, context)

    def check_slice(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        """The :data:`SLICE_GATES` alone, for an algorithm's child."""
        return self.check_named(SLICE_GATES, lambda name: intent, context)

    def check_named(
        self,
        wanted: frozenset[str],
        intent_for: Callable[[str], OrderIntent],
        context: GateContext,
    ) -> Rejection | None:
        """The gates named in ``wanted`` alone, in the chain's order, each judging
        ``intent_for(gate's name)`` (a modify judges the money on what stays working),
        on switches and controls as fresh as :meth:`check`'s."""
        self._refresh_if_stale()
        with self._lock:
            for gate in self.chain.gates:
                if gate.name in wanted and (
                    rejection := gate.check(intent_for(gate.name), context)
                ):
                    return rejection
        return None

    def warnings(self, intent: OrderIntent, context: GateContext) -> tuple[str, ...]:
        """What the chain says while letting an intent go (a kill switch in WARNING).

        No lock: the warning gates read the board's switches, a tuple replaced whole."""
        return self.chain.warnings(intent, context)

    def on_event(self, event: Event) -> None:
        """Feed a committed ``executions.report`` to the loss ledger."""
        payload = event.payload
        fill = payload.get("fill")
        if not isinstance(fill, dict):
            return
        gross = Decimal(fill["realized_gross"])
        commission = Decimal(fill["commission"])
        ts = datetime.fromisoformat(fill["ts"])
        with self._lock:
            self.ledger.on_fill(
                payload["strategy_id"],
                payload["symbol"],
                gross - commission,
                ts,
                self._trading_day(ts),
                closing=gross != 0,
                account_id=payload["account_id"],
                order_id=payload["order_id"],
                exec_id=fill["exec_id"],
                trade_id=trade_id(payload["order_id"], payload.get("parent_order_id")),
            )

    def on_amendment(self, event: Event) -> None:
        """Feed a committed bust or correction (``executions.busted`` / ``.corrected``)
        to the loss ledger: the change of realized P&L it made, on the fill's day."""
        payload = event.payload
        amend, fill = payload.get("amend"), payload.get("fill")
        if not isinstance(amend, dict) or not isinstance(fill, dict):
            return
        change = Decimal(amend["realized_gross"]) - Decimal(amend["commission"])
        ts = datetime.fromisoformat(fill["ts"])
        with self._lock:
            self.ledger.on_fill(
                payload["strategy_id"],
                payload["symbol"],
                change,
                ts,
                self._trading_day(ts),
                closing=False,  # a correction neither extends nor ends a losing streak
                account_id=payload["account_id"],
                order_id=payload["order_id"],
            )

    def on_equity(self, equity: Decimal, account_id: str = "default") -> None:
        with self._lock:
            self.ledger.on_equity(
                equity, self._trading_day(self.clock.now()), account_id=account_id
            )
