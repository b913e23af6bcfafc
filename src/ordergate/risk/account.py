"""Account-level gates: buying power (seed 004's "sufficient margin") and the
duplicate-order guard."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ordergate.clock import Clock
from ordergate.domain.enums import Side
from ordergate.domain.errors import ConfigError, ErrorCode
from ordergate.domain.gates import GateContext, Rejection
from ordergate.domain.intent import OrderIntent
from ordergate.domain.money import ONE, ZERO
from ordergate.risk.base import no_market_data, reduces_exposure, reference_price, reject

#: account id → buying power available now, or ``None`` when it is not known.
BuyingPowerSource = Callable[[str], Decimal | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BuyingPowerConfig:
    """``margin_rate`` (default 1: cash account) is the fraction of the notional an
    order ties up; 0.25 is a 4× margin account."""

    margin_rate: Decimal = ONE

    def __post_init__(self) -> None:
        if not (0 < self.margin_rate <= 1):
            raise ConfigError(f"margin_rate must be in (0, 1], got {self.margin_rate}")


class BuyingPowerGate:
    """Opening or adding needs ``qty × price × margin_rate`` of buying power.

    Buying power is the account's cash (the engine's cash ledger, fed by every fill
    and fee) less what its working orders that add exposure already reserve
    (``GateContext.reserved_notional``, at the same margin rate). Reducing intents free
    buying power and always pass. An unknown cash figure fails closed
    (``available=unknown``): the gate cannot give a clear yes.
    """

    name = "buying_power"

    def __init__(self, available: BuyingPowerSource, config: BuyingPowerConfig | None = None):
        self.available = available
        self.config = config or BuyingPowerConfig()

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        if reduces_exposure(intent, context):
            return None
        price = reference_price(intent, context.mark)
        if price is None:
            return no_market_data(intent, self.name)
        rate = self.config.margin_rate
        required = intent.qty * price * rate
        cash = self.available(intent.account_id)
        if cash is None:
            return reject(ErrorCode.E_RISK_BUYING_POWER, required=required, available="unknown")
        available = cash - context.reserved_notional() * rate
        if required > available:
            return reject(
                ErrorCode.E_RISK_BUYING_POWER,
                required=required,
                available=max(available, ZERO),
            )
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class DuplicateGuardConfig:
    """``window`` (default 2 s): how long an identical order counts as a duplicate.
    ``per_strategy`` (default False): when True, two strategies may send the same order."""

    window: timedelta = timedelta(seconds=2)
    per_strategy: bool = False

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise ConfigError(f"the duplicate window must be positive, got {self.window}")


_Key = tuple[str, str, str, Side, Decimal]


class DuplicateOrderGate:
    """Rejects an intent identical in account, symbol, side and quantity to one that
    passed within ``window`` — a strategy that fires twice under two idempotency keys.

    It remembers an intent when it lets it through, so it must be the last gate: an
    intent another gate rejected is not remembered and may be sent again at once.
    Time comes from the injected clock.
    """

    name = "duplicate_order"

    def __init__(self, clock: Clock, config: DuplicateGuardConfig | None = None) -> None:
        self.clock = clock
        self.config = config or DuplicateGuardConfig()
        self._seen: dict[_Key, datetime] = {}
        self._order: deque[tuple[datetime, _Key]] = deque()

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        now = self.clock.now()
        self._forget_before(now - self.config.window)
        strategy = intent.strategy_id if self.config.per_strategy else ""
        key = (intent.account_id, strategy, intent.symbol, intent.side, intent.qty)
        previous = self._seen.get(key)
        if previous is not None:
            return reject(
                ErrorCode.E_RISK_DUPLICATE_ORDER,
                symbol=intent.symbol,
                side=intent.side.value,
                qty=intent.qty,
                previous_at=previous,
                window_s=Decimal(str(self.config.window.total_seconds())),
            )
        self._seen[key] = now
        self._order.append((now, key))
        return None

    def _forget_before(self, cutoff: datetime) -> None:
        while self._order and self._order[0][0] <= cutoff:
            at, key = self._order.popleft()
            if self._seen.get(key) == at:
                del self._seen[key]
