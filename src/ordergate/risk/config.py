"""Risk settings: one frozen object for the whole chain, built from a plain mapping
(the ``risk:`` section of the settings file) that rejects unknown keys.

Example (YAML)::

    risk:
      breakers: {max_daily_loss: "5000", max_daily_drawdown_pct: "0.02"}
      limits:
        tradable: [AAPL, MSFT]
        # fat-finger defaults: max_qty "1000000", max_notional_equity_pct "0.25"; null: off
        default: {tick_size: "0.01", lot_size: "1", price_band_bps: "500", max_qty: "50000"}
        instruments: {AAPL: {tick_size: "0.01", max_notional: "250000"}}
      buying_power: {margin_rate: "1"}
      duplicate_window_ms: 2000          # null turns the guard off
      emergency: {make_limits_marketable: true, style: CROSS, cross_bps: "25"}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from ordergate.domain.errors import ConfigError, InvalidIntent
from ordergate.domain.money import parse_decimal
from ordergate.risk.account import BuyingPowerConfig, DuplicateGuardConfig
from ordergate.risk.breakers import BreakerConfig
from ordergate.risk.limits import InstrumentLimits, InstrumentSpec
from ordergate.risk.trading_state import EmergencyConfig, MarketableStyle

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskConfig:
    """Everything the default chain needs; every part has documented defaults.

    ``duplicate_guard`` defaults to a 2 s window; ``None`` turns the guard off.
    """

    breakers: BreakerConfig = field(default_factory=BreakerConfig)
    limits: InstrumentLimits = field(default_factory=InstrumentLimits)
    buying_power: BuyingPowerConfig = field(default_factory=BuyingPowerConfig)
    duplicate_guard: DuplicateGuardConfig | None = field(default_factory=DuplicateGuardConfig)
    emergency: EmergencyConfig = field(default_factory=EmergencyConfig)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RiskConfig:
        _known(data, {"breakers", "limits", "buying_power", "duplicate_window_ms", "emergency"})
        values: dict[str, Any] = {}
        if "breakers" in data:
            values["breakers"] = _build(BreakerConfig, data["breakers"], "breakers")
        if "limits" in data:
            values["limits"] = _limits(data["limits"])
        if "buying_power" in data:
            values["buying_power"] = _build(BuyingPowerConfig, data["buying_power"], "buying_power")
        if "duplicate_window_ms" in data:
            window = data["duplicate_window_ms"]
            values["duplicate_guard"] = (
                None
                if window is None
                else DuplicateGuardConfig(window=timedelta(milliseconds=_int(window, "window")))
            )
        if "emergency" in data:
            values["emergency"] = _build(EmergencyConfig, data["emergency"], "emergency")
        return cls(**values)


def _limits(data: Any) -> InstrumentLimits:
    section = _mapping(data, "limits")
    _known(section, {"tradable", "default", "instruments"}, "limits")
    values: dict[str, Any] = {}
    if section.get("tradable") is not None:
        symbols = section["tradable"]
        if isinstance(symbols, str) or not isinstance(symbols, list | tuple | set | frozenset):
            raise ConfigError("limits.tradable must be a list of symbols")
        values["tradable"] = frozenset(str(s).strip().upper() for s in symbols)
    if "default" in section:
        values["default"] = _build(InstrumentSpec, section["default"], "limits.default")
    if "instruments" in section:
        specs = _mapping(section["instruments"], "limits.instruments")
        values["instruments"] = {
            str(symbol).upper(): _build(InstrumentSpec, spec, f"limits.instruments.{symbol}")
            for symbol, spec in specs.items()
        }
    return InstrumentLimits(**values)


def _build(kind: type[T], data: Any, where: str) -> T:
    """A frozen config dataclass from a mapping: unknown keys and bad values are errors."""
    section = _mapping(data, where)
    types = {f.name: str(f.type) for f in fields(kind)}  # type: ignore[arg-type]
    _known(section, set(types), where)
    values: dict[str, Any] = {}
    for name, raw in section.items():
        hint = types[name]
        if raw is None:
            values[name] = None
        elif "Decimal" in hint:
            values[name] = _decimal(raw, f"{where}.{name}")
        elif "int" in hint:
            values[name] = _int(raw, f"{where}.{name}")
        elif hint == "bool":
            if not isinstance(raw, bool):
                raise ConfigError(f"{where}.{name} must be true or false, got {raw!r}")
            values[name] = raw
        elif hint == "MarketableStyle":
            values[name] = _style(raw, f"{where}.{name}")
        else:
            raise ConfigError(f"{where}.{name} cannot be set from a settings file")
    return kind(**values)


def _known(data: Mapping[str, Any], allowed: set[str], where: str = "risk") -> None:
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise ConfigError(f"unknown {where} settings: {', '.join(unknown)}")


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a mapping of settings")
    return data


def _decimal(raw: Any, where: str) -> Decimal:
    try:
        return parse_decimal(raw, where)
    except InvalidIntent as exc:
        raise ConfigError(exc.message) from None


def _int(raw: Any, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ConfigError(f"{where} must be a whole number, got {raw!r}")
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{where} must be a whole number, got {raw!r}") from None


def _style(raw: Any, where: str) -> MarketableStyle:
    try:
        return MarketableStyle(str(raw).strip().upper())
    except ValueError:
        raise ConfigError(f"{where} must be MARKET or CROSS, got {raw!r}") from None
