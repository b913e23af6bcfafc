"""Instrument and order limits: what may be traded, in which increments and sizes, and
how far from the market a price may be.

Each symbol gets an :class:`InstrumentSpec`: its own from ``instruments`` when listed,
else ``default`` (a listed spec replaces the default whole, so a symbol can switch a
limit off). ``None`` in a field means "no limit".

Fat fingers are stopped out of the box: every spec has a maximum order quantity of
1,000,000 units (``max_qty``) and a maximum notional of 25 % of the account's equity
per order (``max_notional_equity_pct: "0.25"``, a fraction), beside the absolute
``max_notional`` (no default). ``null`` in the ``risk: limits:`` block turns either off.
The equity comes from the source the gate is given (the composition root gives the
engine's equity per account; a gate given none has no percentage limit); while the
percentage is set, an equity the source does not know fails closed. An intent that only
reduces the position passes the percentage: it is bounded by the position already held.

Odd lots: a partial fill can leave a position that is not a multiple of the lot or is
under the minimum. An intent that closes exactly the whole position is therefore
exempt from the lot size and minimum quantity checks — the desk can always get flat.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ordergate.domain.errors import ConfigError, ErrorCode
from ordergate.domain.gates import GateContext, Rejection
from ordergate.domain.intent import OrderIntent
from ordergate.domain.money import BPS, is_multiple
from ordergate.risk.base import Gate, no_market_data, reduces_exposure, reference_price, reject

_SHOWN_BPS = Decimal("0.01")
_SHOWN_MONEY = Decimal("0.01")

#: The default fat-finger limits (documented in the module docstring and the README).
DEFAULT_MAX_QTY = Decimal(1_000_000)
DEFAULT_MAX_NOTIONAL_EQUITY_PCT = Decimal("0.25")

#: account id → its equity now, or ``None`` when it is not known.
EquitySource = Callable[[str], Decimal | None]

#: The tick every price ordergate *computes* (a stop or take-profit from a fill, an
#: EMERGENCY repricing) lands on when the instrument names none: a cent, which every
#: equity broker accepts. It does not reject prices a caller sends (that is ``tick_size``).
DEFAULT_TICK = Decimal("0.01")


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentSpec:
    """One instrument's rules; ``None`` in a field means no limit. Every field defaults to
    ``None`` but the fat-finger limits: ``max_qty`` 1,000,000 and
    ``max_notional_equity_pct`` 0.25 (25 % of the account's equity per order)."""

    tick_size: Decimal | None = None
    lot_size: Decimal | None = None
    min_qty: Decimal | None = None
    max_qty: Decimal | None = DEFAULT_MAX_QTY
    max_notional: Decimal | None = None
    #: the largest notional of one order as a fraction of the account's equity
    max_notional_equity_pct: Decimal | None = DEFAULT_MAX_NOTIONAL_EQUITY_PCT
    #: the widest distance of a limit or stop price from the last mark, in basis points
    price_band_bps: Decimal | None = None

    def __post_init__(self) -> None:
        for name in (
            "tick_size",
            "lot_size",
            "min_qty",
            "max_qty",
            "max_notional",
            "max_notional_equity_pct",
        ):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"{name} must be greater than zero (or unset), got {value}")
        if self.price_band_bps is not None and self.price_band_bps < 0:
            raise ConfigError(f"price_band_bps must not be negative, got {self.price_band_bps}")

    @property
    def price_tick(self) -> Decimal:
        """The tick for prices ordergate computes: ``tick_size``, else :data:`DEFAULT_TICK`."""
        return self.tick_size if self.tick_size is not None else DEFAULT_TICK


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentLimits:
    """``tradable`` (default ``None``: every symbol) and the specs by symbol."""

    tradable: frozenset[str] | None = None
    default: InstrumentSpec = InstrumentSpec()
    instruments: Mapping[str, InstrumentSpec] = field(default_factory=dict)

    def spec(self, symbol: str) -> InstrumentSpec:
        return self.instruments.get(symbol, self.default)


def _closes_whole_position(intent: OrderIntent, context: GateContext) -> bool:
    return intent.qty == abs(context.position.qty) and reduces_exposure(intent, context)


class _LimitGate:
    name = "limit"
    #: the fields of :class:`InstrumentSpec` this gate enforces
    fields: tuple[str, ...] = ()

    def __init__(self, limits: InstrumentLimits) -> None:
        self.limits = limits

    @property
    def armed(self) -> bool:
        """False when neither the default spec nor any instrument's sets a field this
        gate enforces: it can only say go, and the chain does not ask it (a breaker its
        configuration disarmed is skipped alike). Limits whose spec is filled in later
        (the broker's tick and lot sizes: ``broker_instruments``) always arm it."""
        limits = self.limits
        if type(limits) is not InstrumentLimits:
            return True
        specs = (limits.default, *limits.instruments.values())
        return any(getattr(spec, name) is not None for spec in specs for name in self.fields)


class TradableGate(_LimitGate):
    name = "tradable"

    @property
    def armed(self) -> bool:
        return self.limits.tradable is not None

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        tradable = self.limits.tradable
        if tradable is not None and intent.symbol not in tradable:
            return reject(ErrorCode.E_RISK_NOT_TRADABLE, symbol=intent.symbol)
        return None


class TickSizeGate(_LimitGate):
    name = "tick_size"
    fields = ("tick_size",)

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        tick = self.limits.spec(intent.symbol).tick_size
        if tick is None:
            return None
        for name, price in (("limit_price", intent.limit_price), ("stop_price", intent.stop_price)):
            if price is not None and not is_multiple(price, tick):
                return reject(ErrorCode.E_RISK_TICK_SIZE, field=name, price=price, tick=tick)
        return None


class LotSizeGate(_LimitGate):
    name = "lot_size"
    fields = ("lot_size",)

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        lot = self.limits.spec(intent.symbol).lot_size
        if lot is None or is_multiple(intent.qty, lot) or _closes_whole_position(intent, context):
            return None
        return reject(ErrorCode.E_RISK_LOT_SIZE, qty=intent.qty, lot=lot)


class MinQtyGate(_LimitGate):
    name = "min_qty"
    fields = ("min_qty",)

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        least = self.limits.spec(intent.symbol).min_qty
        if least is None or intent.qty >= least or _closes_whole_position(intent, context):
            return None
        return reject(ErrorCode.E_RISK_MIN_QTY, qty=intent.qty, min=least)


class MaxQtyGate(_LimitGate):
    name = "max_qty"
    fields = ("max_qty",)

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        most = self.limits.spec(intent.symbol).max_qty
        if most is not None and intent.qty > most:
            return reject(ErrorCode.E_RISK_MAX_QTY, qty=intent.qty, max=most)
        return None


class PriceBandGate(_LimitGate):
    """A limit or stop price further than ``price_band_bps`` from the last mark is a
    fat finger. Market orders carry no price and pass; no mark fails closed."""

    name = "price_band"
    fields = ("price_band_bps",)

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        band = self.limits.spec(intent.symbol).price_band_bps
        if band is None:
            return None
        for name, price in (("limit_price", intent.limit_price), ("stop_price", intent.stop_price)):
            if price is None:
                continue
            if context.mark is None:
                return no_market_data(intent, self.name)
            last = context.mark.last
            deviation = abs(price - last) * BPS / last
            if deviation > band:
                return reject(
                    ErrorCode.E_RISK_PRICE_BAND,
                    field=name,
                    price=price,
                    mark=last,
                    deviation_bps=deviation.quantize(_SHOWN_BPS),
                    band_bps=band,
                )
        return None


_NOTIONAL_FIELDS = ("max_notional", "max_notional_equity_pct")


class MaxNotionalGate(_LimitGate):
    """qty × reference price (limit, stop, quote or last) against ``max_notional`` and
    against ``max_notional_equity_pct`` of the account's equity (from ``equity``)."""

    name = "max_notional"

    def __init__(self, limits: InstrumentLimits, equity: EquitySource | None = None) -> None:
        super().__init__(limits)
        self.equity = equity
        # the equity share applies only with a source of equity
        self.fields = ("max_notional",) if equity is None else _NOTIONAL_FIELDS

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        spec = self.limits.spec(intent.symbol)
        most = spec.max_notional
        share = None if self.equity is None else spec.max_notional_equity_pct
        if most is None and share is None:
            return None
        price = reference_price(intent, context.mark)
        if price is None:
            return no_market_data(intent, self.name)
        notional = intent.qty * price
        if most is not None and notional > most:
            return reject(ErrorCode.E_RISK_MAX_NOTIONAL, notional=notional, max=most, price=price)
        if share is None or reduces_exposure(intent, context):
            return None
        equity = self.equity(intent.account_id) if self.equity is not None else None
        if equity is None:  # no clear yes without the equity: fail closed
            return reject(
                ErrorCode.E_RISK_MAX_NOTIONAL,
                notional=notional,
                equity="unknown",
                max_equity_pct=share,
                price=price,
            )
        cap = equity * share
        if notional > cap:
            return reject(
                ErrorCode.E_RISK_MAX_NOTIONAL,
                notional=notional,
                max=cap.quantize(_SHOWN_MONEY),
                equity=equity,
                max_equity_pct=share,
                price=price,
            )
        return None


LIMIT_GATES: tuple[Callable[[InstrumentLimits], Gate], ...] = (
    TradableGate,
    TickSizeGate,
    LotSizeGate,
    MinQtyGate,
    MaxQtyGate,
    PriceBandGate,
)  # then MaxNotionalGate, which also needs the equity source
