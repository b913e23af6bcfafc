"""The gate chain: step 3 of the submit path. Gates run in a fixed order; the first
"no" rejects the intent with its code and key=value context, and nothing is sent.

The default order (:func:`build_gate_chain`), cheapest and most decisive first:

 1. ``expiry``           the intent's ``expire_at`` has passed       E_INTENT_EXPIRED
 2. ``kill_switch``      an ACTIVE switch covers symbol or strategy  E_RISK_KILL_SWITCH
 3. ``trading_state``    HALTED; REDUCING or EMERGENCY and not       E_RISK_TRADING_HALTED,
                         reducing                                    E_RISK_REDUCE_ONLY
 4. ``tradable``         symbol not on the tradable list             E_RISK_NOT_TRADABLE
 5. ``tick_size``        limit/stop price off the tick               E_RISK_TICK_SIZE
 6. ``lot_size``         quantity off the lot                        E_RISK_LOT_SIZE
 7. ``min_qty``          quantity under the minimum                  E_RISK_MIN_QTY
 8. ``max_qty``          quantity over the maximum (1,000,000)       E_RISK_MAX_QTY
 9. ``price_band``       limit/stop too far from the last mark       E_RISK_PRICE_BAND
10. ``max_notional``     qty × price over the maximum, or over a     E_RISK_MAX_NOTIONAL
                         share of the account's equity (25 %)
11. ``daily_loss``       today's realized loss beyond the limit      E_RISK_DAILY_LOSS
12. ``drawdown``         fall from today's equity peak too deep      E_RISK_DRAWDOWN
13. ``loss_streak``      too many losing closes in a row             E_RISK_LOSS_STREAK
14. ``max_trades``       too many trades today                       E_RISK_MAX_TRADES
15. ``strategy_trades``  too many trades today for the strategy      E_RISK_MAX_TRADES_STRATEGY
16. ``buying_power``     not enough buying power (when a source is   E_RISK_BUYING_POWER
                         given)
17. ``duplicate_order``  the same order passed moments ago           E_RISK_DUPLICATE_ORDER

Why this order: operator controls (2-3) outrank everything and say the most about why;
static instrument rules (4-10) need no state; breakers (11-15) read the ledger; buying
power may need the account; the duplicate guard remembers what it lets through, so it
runs last and remembers only intents that every other gate accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ordergate.clock import Clock
from ordergate.domain.errors import ConfigError, ErrorCode
from ordergate.domain.gates import GateContext, Rejection
from ordergate.domain.intent import OrderIntent
from ordergate.risk.account import BuyingPowerGate, BuyingPowerSource, DuplicateOrderGate
from ordergate.risk.base import Gate, TradingDayFn, reject, utc_trading_day
from ordergate.risk.breakers import BREAKER_GATES
from ordergate.risk.config import RiskConfig
from ordergate.risk.killswitch import KillSwitchBoard, KillSwitchGate
from ordergate.risk.ledger import RiskLedger
from ordergate.risk.limits import LIMIT_GATES, EquitySource, MaxNotionalGate
from ordergate.risk.trading_state import TradingControls, TradingStateGate

#: A gate's ``warnings`` method (:class:`~ordergate.risk.base.WarningSource`).
WarnFn = Callable[[OrderIntent, GateContext], tuple[str, ...]]


class ExpiryGate:
    """The intent's ``expire_at`` is at or before the clock's ``now``."""

    name = "expiry"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        if intent.expire_at is None:
            return None
        now = self.clock.now()
        if now >= intent.expire_at:
            return reject(ErrorCode.E_INTENT_EXPIRED, expire_at=intent.expire_at, now=now)
        return None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The chain's full answer: the rejection (if any), which gate gave it, warnings."""

    rejection: Rejection | None
    gate: str | None
    warnings: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.rejection is None


class GateChain:
    """A :class:`~ordergate.domain.gates.PreTradeCheck` over gates in a fixed order."""

    def __init__(self, gates: Iterable[Gate]) -> None:
        self.gates: tuple[Gate, ...] = tuple(gates)
        #: what :meth:`check` asks: every gate but a breaker the configuration disarmed
        #: (every limit of it off: it can only say go), each check bound once
        self._checks: tuple[Callable[[OrderIntent, GateContext], Rejection | None], ...] = tuple(
            gate.check for gate in self.gates if getattr(gate, "armed", True)
        )
        #: the gates that can also warn (a kill switch in WARNING), asked by :meth:`warnings`
        self._warners: tuple[WarnFn, ...] = tuple(
            warn for gate in self.gates if callable(warn := getattr(gate, "warnings", None))
        )
        names = [gate.name for gate in self.gates]
        if len(set(names)) != len(names):
            raise ConfigError(f"gate names must be unique, got {names}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(gate.name for gate in self.gates)

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        for check in self._checks:
            rejection = check(intent, context)
            if rejection is not None:
                return rejection
        return None

    def warnings(self, intent: OrderIntent, context: GateContext) -> tuple[str, ...]:
        """Every gate's "proceed, but look" (the engine's optional ``WarningCheck``)."""
        notes: tuple[str, ...] = ()
        for warn in self._warners:
            found = warn(intent, context)
            if found:  # most orders meet none: nothing built for them
                notes += found
        return notes

    def evaluate(self, intent: OrderIntent, context: GateContext) -> Verdict:
        """Like :meth:`check`, also naming the gate and collecting warnings."""
        warnings: list[str] = []
        for gate in self.gates:
            warn = getattr(gate, "warnings", None)
            if callable(warn):
                warnings.extend(warn(intent, context))
            rejection = gate.check(intent, context)
            if rejection is not None:
                return Verdict(rejection, gate.name, tuple(warnings))
        return Verdict(None, None, tuple(warnings))

    def without(self, names: Sequence[str]) -> GateChain:
        """A chain without the named gates (a backtest that has no account, say)."""
        unknown = set(names) - set(self.names)
        if unknown:
            raise ConfigError(f"no such gates: {sorted(unknown)}")
        return GateChain(gate for gate in self.gates if gate.name not in names)


def build_gate_chain(
    config: RiskConfig,
    *,
    clock: Clock,
    ledger: RiskLedger,
    board: KillSwitchBoard,
    controls: TradingControls,
    buying_power: BuyingPowerSource | None = None,
    equity: EquitySource | None = None,
    trading_day: TradingDayFn = utc_trading_day,
) -> GateChain:
    """The default chain in the documented order; ``buying_power`` adds gate 16.

    ``equity`` is what ``max_notional_equity_pct`` is a share of (without a source that
    limit does not apply; a source that answers None fails closed)."""
    gates: list[Gate] = [
        ExpiryGate(clock),
        KillSwitchGate(board),
        TradingStateGate(controls),
    ]
    gates.extend(kind(config.limits) for kind in LIMIT_GATES)
    gates.append(MaxNotionalGate(config.limits, equity))
    gates.extend(
        kind(ledger, clock, config.breakers, trading_day=trading_day) for kind in BREAKER_GATES
    )
    if buying_power is not None:
        gates.append(BuyingPowerGate(buying_power, config.buying_power))
    if config.duplicate_guard is not None:
        gates.append(DuplicateOrderGate(clock, config.duplicate_guard))
    return GateChain(gates)
