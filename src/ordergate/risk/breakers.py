"""Loss breakers (seed 003): stop new risk once today has gone badly enough.

Each breaker reads today's :class:`~ordergate.risk.ledger.AccountDay` for the intent's
account, "today" being the trading day of the injected clock's ``now``. They rule:

===================  =================================================  ==========================
gate                 rejects when                                       code
===================  =================================================  ==========================
``daily_loss``       realized net P&L < −max_daily_loss (seed's ``<``)  E_RISK_DAILY_LOSS
``drawdown``         (peak − equity) / peak > max_daily_drawdown_pct    E_RISK_DRAWDOWN
``loss_streak``      consecutive losing closing fills ≥ max_loss_streak E_RISK_LOSS_STREAK
``max_trades``       trades today ≥ max_trades_per_day                  E_RISK_MAX_TRADES
``strategy_trades``  the strategy's trades ≥ the per-strategy maximum   E_RISK_MAX_TRADES_STRATEGY
===================  =================================================  ==========================

The daily loss and the streak are checked for the account and, when a per-strategy
limit is set, for the intent's strategy. With ``reducing_orders_pass`` (the default) an
intent that only shrinks a position passes every breaker: a breaker stops new risk, it
must never stop the desk from getting flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordergate.clock import Clock
from ordergate.domain.errors import ConfigError, ErrorCode
from ordergate.domain.gates import GateContext, Rejection
from ordergate.domain.intent import OrderIntent
from ordergate.risk.base import TradingDayFn, reduces_exposure, reject, utc_trading_day
from ordergate.risk.ledger import AccountDay, RiskLedger

_SHOWN_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerConfig:
    """Seed 003's circuit breakers, with its defaults. ``None`` turns a breaker off.

    - ``max_daily_loss`` = 5000: account realized net loss per trading day.
    - ``max_daily_drawdown_pct`` = 0.02: fall from the intraday equity peak (2 %).
    - ``max_trades_per_day`` = 100: orders with a fill, per account per day.
    - ``max_trades_per_strategy_per_day`` = 50.
    - ``max_loss_streak`` = 5: consecutive losing closing fills, per account per day.
    - ``max_strategy_daily_loss`` = None, ``max_strategy_loss_streak`` = None: the same
      limits per strategy, off unless set.
    - ``reducing_orders_pass`` = True: exposure-reducing intents pass every breaker.
    """

    max_daily_loss: Decimal | None = Decimal(5000)
    max_daily_drawdown_pct: Decimal | None = Decimal("0.02")
    max_trades_per_day: int | None = 100
    max_trades_per_strategy_per_day: int | None = 50
    max_loss_streak: int | None = 5
    max_strategy_daily_loss: Decimal | None = None
    max_strategy_loss_streak: int | None = None
    reducing_orders_pass: bool = True

    def __post_init__(self) -> None:
        for name in (
            "max_daily_loss",
            "max_daily_drawdown_pct",
            "max_trades_per_day",
            "max_trades_per_strategy_per_day",
            "max_loss_streak",
            "max_strategy_daily_loss",
            "max_strategy_loss_streak",
        ):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{name} must be greater than zero (or unset), got {value}")
        pct = self.max_daily_drawdown_pct
        if pct is not None and pct >= 1:
            raise ConfigError(f"max_daily_drawdown_pct is a fraction below 1, got {pct}")


class _Breaker:
    """Shared plumbing: today's state for the intent's account, and the reducing pass."""

    name = "breaker"

    def __init__(
        self,
        ledger: RiskLedger,
        clock: Clock,
        config: BreakerConfig | None = None,
        *,
        trading_day: TradingDayFn = utc_trading_day,
    ) -> None:
        self.ledger = ledger
        self.clock = clock
        self.config = config or BreakerConfig()
        self.trading_day = trading_day
        self._day_cache: tuple[datetime, str] | None = None

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        if not self._armed():
            return None  # every limit of this breaker is off: it can only say go
        if self.config.reducing_orders_pass and reduces_exposure(intent, context):
            return None
        return self._rule(intent, self.ledger.day(intent.account_id, self._today()))

    @property
    def armed(self) -> bool:
        """False when the configuration turns every limit of this breaker off (it can
        only say go, and needs nothing fed)."""
        return self._armed()

    def _armed(self) -> bool:
        return True

    def _today(self) -> str:
        now = self.clock.now()
        cached = self._day_cache
        if cached is None or cached[0] != now:
            cached = (now, self.trading_day(now))
            self._day_cache = cached
        return cached[1]

    def _rule(self, intent: OrderIntent, day: AccountDay) -> Rejection | None:
        return None


class DailyLossGate(_Breaker):
    name = "daily_loss"

    def _armed(self) -> bool:
        config = self.config
        return config.max_daily_loss is not None or config.max_strategy_daily_loss is not None

    def _rule(self, intent: OrderIntent, day: AccountDay) -> Rejection | None:
        limit = self.config.max_daily_loss
        if limit is not None and day.realized < -limit:
            return reject(
                ErrorCode.E_RISK_DAILY_LOSS,
                realized=day.realized,
                limit=-limit,
                scope=f"account:{intent.account_id}",
            )
        limit = self.config.max_strategy_daily_loss
        realized = day.strategy(intent.strategy_id).realized
        if limit is not None and realized < -limit:
            return reject(
                ErrorCode.E_RISK_DAILY_LOSS,
                realized=realized,
                limit=-limit,
                scope=f"strategy:{intent.strategy_id}",
            )
        return None


class DrawdownGate(_Breaker):
    name = "drawdown"

    def _armed(self) -> bool:
        return self.config.max_daily_drawdown_pct is not None

    def _rule(self, intent: OrderIntent, day: AccountDay) -> Rejection | None:
        limit = self.config.max_daily_drawdown_pct
        drawdown = day.drawdown_pct
        if limit is None or drawdown <= limit:
            return None
        return reject(
            ErrorCode.E_RISK_DRAWDOWN,
            drawdown_pct=drawdown.quantize(_SHOWN_PLACES).normalize(),
            limit=limit,
            peak=day.equity_peak,
            equity=day.equity_last,
        )


class LossStreakGate(_Breaker):
    name = "loss_streak"

    def _armed(self) -> bool:
        config = self.config
        return config.max_loss_streak is not None or config.max_strategy_loss_streak is not None

    def _rule(self, intent: OrderIntent, day: AccountDay) -> Rejection | None:
        limit = self.config.max_loss_streak
        if limit is not None and day.loss_streak >= limit:
            return reject(
                ErrorCode.E_RISK_LOSS_STREAK,
                streak=day.loss_streak,
                limit=limit,
                scope=f"account:{intent.account_id}",
            )
        limit = self.config.max_strategy_loss_streak
        streak = day.strategy(intent.strategy_id).loss_streak
        if limit is not None and streak >= limit:
            return reject(
                ErrorCode.E_RISK_LOSS_STREAK,
                streak=streak,
                limit=limit,
                scope=f"strategy:{intent.strategy_id}",
            )
        return None


class MaxTradesGate(_Breaker):
    name = "max_trades"

    def _armed(self) -> bool:
        return self.config.max_trades_per_day is not None

    def _rule(self, intent: OrderIntent, day: AccountDay) -> Rejection | None:
        limit = self.config.max_trades_per_day
        if limit is not None and day.trades >= limit:
            return reject(ErrorCode.E_RISK_MAX_TRADES, trades=day.trades, limit=limit)
        return None


class StrategyTradesGate(_Breaker):
    name = "strategy_trades"

    def _armed(self) -> bool:
        return self.config.max_trades_per_strategy_per_day is not None

    def _rule(self, intent: OrderIntent, day: AccountDay) -> Rejection | None:
        limit = self.config.max_trades_per_strategy_per_day
        trades = day.strategy(intent.strategy_id).trades
        if limit is not None and trades >= limit:
            return reject(
                ErrorCode.E_RISK_MAX_TRADES_STRATEGY,
                strategy=intent.strategy_id,
                trades=trades,
                limit=limit,
            )
        return None


BREAKER_GATES: tuple[type[_Breaker], ...] = (
    DailyLossGate,
    DrawdownGate,
    LossStreakGate,
    MaxTradesGate,
    StrategyTradesGate,
)
