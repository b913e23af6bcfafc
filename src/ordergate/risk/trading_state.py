"""Trading state and the EMERGENCY posture: how much the desk may trade right now.

- ``NORMAL``: everything the other gates allow.
- ``REDUCING``: only intents that shrink a position pass (``E_RISK_REDUCE_ONLY``).
- ``HALTED``: no new intent passes (``E_RISK_TRADING_HALTED``). Cancels are not
  intents and never reach the gates, so they still go through.

The EMERGENCY posture (seed 002's Black Swan instruction) is kept apart from the state
because it is raised by a different actor: while it is on, only exposure-reducing
intents pass, and :func:`make_marketable` can turn a resting limit into an order that
trades now, so that reducing actually happens.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from ordergate.clock import Clock
from ordergate.domain.enums import OrderType, Side
from ordergate.domain.errors import ConfigError, ErrorCode
from ordergate.domain.gates import GateContext, Rejection
from ordergate.domain.intent import OrderIntent
from ordergate.domain.market import Mark
from ordergate.domain.money import BPS
from ordergate.risk.base import reduces_exposure, reject


class TradingState(StrEnum):
    NORMAL = "NORMAL"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class Posture(StrEnum):
    NORMAL = "NORMAL"
    EMERGENCY = "EMERGENCY"


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlChange:
    """The last change of a control: what, who, why, when."""

    value: str
    actor: str
    reason: str
    at: datetime


class TradingControls:
    """The desk's trading state and posture, each with who set it and why."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        start = clock.now()
        self.state = TradingState.NORMAL
        self.posture = Posture.NORMAL
        self.state_change = ControlChange(value="NORMAL", actor="system", reason="start", at=start)
        self.posture_change = ControlChange(
            value="NORMAL", actor="system", reason="start", at=start
        )

    def set_state(self, state: TradingState | str, *, actor: str, reason: str) -> ControlChange:
        self.state = TradingState(str(state).upper())
        self.state_change = self._change(self.state.value, actor, reason)
        return self.state_change

    def set_posture(self, posture: Posture | str, *, actor: str, reason: str) -> ControlChange:
        self.posture = Posture(str(posture).upper())
        self.posture_change = self._change(self.posture.value, actor, reason)
        return self.posture_change

    def _change(self, value: str, actor: str, reason: str) -> ControlChange:
        if not actor.strip() or not reason.strip():
            raise ConfigError("changing the trading state needs an actor and a reason")
        return ControlChange(value=value, actor=actor, reason=reason, at=self._clock.now())


class TradingStateGate:
    """HALTED rejects every intent; REDUCING and EMERGENCY let only reducing ones pass."""

    name = "trading_state"

    def __init__(self, controls: TradingControls) -> None:
        self.controls = controls

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        controls = self.controls
        if controls.state is TradingState.HALTED:
            change = controls.state_change
            return reject(
                ErrorCode.E_RISK_TRADING_HALTED, state="HALTED", by=change.actor, why=change.reason
            )
        restricted = controls.state is TradingState.REDUCING
        if restricted or controls.posture is Posture.EMERGENCY:
            if reduces_exposure(intent, context):
                return None
            return reject(
                ErrorCode.E_RISK_REDUCE_ONLY,
                state=controls.state.value,
                posture=controls.posture.value,
                position=context.position.qty,
                side=intent.side.value,
                qty=intent.qty,
            )
        return None


class MarketableStyle(StrEnum):
    MARKET = "MARKET"  # drop the limit: a market order
    CROSS = "CROSS"  # keep a limit, priced through the far side of the quote


@dataclass(frozen=True, slots=True, kw_only=True)
class EmergencyConfig:
    """How the EMERGENCY posture treats limit orders.

    - ``make_limits_marketable`` (default ``False``): when on, the engine passes limit
      intents through :func:`make_marketable` before recording them.
    - ``style`` (default ``CROSS``): ``MARKET`` or a limit that crosses the quote.
    - ``cross_bps`` (default 25): how far through the quote a ``CROSS`` limit is priced.
    """

    make_limits_marketable: bool = False
    style: MarketableStyle = MarketableStyle.CROSS
    cross_bps: Decimal = Decimal(25)


def make_marketable(
    intent: OrderIntent,
    mark: Mark | None,
    config: EmergencyConfig,
    *,
    tick_size: Decimal | None = None,
) -> OrderIntent:
    """A copy of a LIMIT intent that trades now; any other intent comes back unchanged.

    ``CROSS`` prices a buy ``cross_bps`` above the ask (a sell below the bid), falling
    back to the last trade, and rounds away from the quote to the tick so it still
    crosses. Without a mark, ``CROSS`` cannot price and the intent becomes MARKET.
    The new intent has a different payload hash: apply this before the intent is
    recorded, never to one already stored under its idempotency key.
    """
    if not config.make_limits_marketable or intent.order_type is not OrderType.LIMIT:
        return intent
    if config.style is MarketableStyle.MARKET or mark is None:
        return replace(intent, order_type=OrderType.MARKET, limit_price=None)
    quote = mark.ask if intent.side is Side.BUY else mark.bid
    base = quote if quote is not None else mark.last
    price = base * (BPS + config.cross_bps * intent.side.sign) / BPS
    if tick_size is not None and tick_size > 0:
        rounding = ROUND_CEILING if intent.side is Side.BUY else ROUND_FLOOR
        price = (price / tick_size).to_integral_value(rounding=rounding) * tick_size
    price = price.normalize()
    if intent.limit_price is not None:
        # never make the limit less aggressive than the caller asked for
        better = max if intent.side is Side.BUY else min
        price = better(price, intent.limit_price)
    return replace(intent, limit_price=price)
