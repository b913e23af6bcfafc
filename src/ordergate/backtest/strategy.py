"""The strategy callback of a backtest, and turning its answer into intents.

A strategy is called once per market event, *after* the venue has traded that
event, with the event and a :class:`StrategyContext`. It answers with:

- nothing (``None`` or an empty list);
- intents: an :class:`~ordergate.domain.intent.OrderIntent`, a dict in the intent's
  loose form (``{"symbol": "AAPL", "side": "BUY", "qty": 10}``), or a list of them;
  a dict without ``idempotency_key`` gets a deterministic one (``bt-<strategy>-<n>``)
  and one without ``strategy_id`` the strategy's name;
- target positions: :class:`Targets` (or ``{"targets": {"AAPL": 100}}``); the runner
  sends a market order for the difference between each target and the position plus
  what working orders will still add (seed 002's planner, in its simplest form).

``module:object`` names a strategy for the CLI: a function ``(event, ctx)``, an
object with ``on_event(event, ctx)``, or a class with either, built with no arguments.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from ordergate.domain.errors import ConfigError
from ordergate.domain.intent import OrderIntent
from ordergate.domain.money import ZERO, parse_decimal
from ordergate.sim.data import MarketEvent


class Targets(dict[str, Any]):
    """Target positions by symbol: ``Targets({"AAPL": 100, "MSFT": -50})``."""


class StrategyContext(Protocol):
    """What a strategy may ask the backtest while it decides."""

    @property
    def now(self) -> datetime: ...

    def position(self, symbol: str) -> Decimal:
        """The engine's position in ``symbol`` (signed)."""
        ...

    def last(self, symbol: str) -> Decimal | None:
        """The last price the engine was told for ``symbol``."""
        ...


StrategyFn = Callable[[MarketEvent, StrategyContext], Any]


def load_strategy(spec: str) -> tuple[str, StrategyFn]:
    """Import ``module:object`` and return (its name, a callable ``(event, ctx)``)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"a strategy is named module:object, got {spec!r}")
    try:
        target: Any = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load strategy {spec!r}: {exc}") from exc
    return attr, as_strategy(target)


def as_strategy(target: Any) -> StrategyFn:
    """A class is instantiated, a factory taking no arguments is called; the result (or
    ``target`` itself) must be callable as ``(event, ctx)`` or have ``on_event``."""
    if isinstance(target, type) or (callable(target) and _takes_no_arguments(target)):
        target = target()
    handler = getattr(target, "on_event", None)
    if callable(handler):
        return handler  # type: ignore[no-any-return]
    if callable(target):
        return target  # type: ignore[no-any-return]
    raise ConfigError(f"a strategy must be callable or have on_event, got {type(target).__name__}")


def _takes_no_arguments(fn: Any) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return not any(
        p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for p in params
    )


@dataclass(slots=True)
class IntentMaker:
    """Turns a strategy's answer into intents with deterministic keys."""

    strategy_id: str
    counter: int = 0
    _prefix: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self._prefix = f"bt-{self.strategy_id}-"

    def intents(
        self, answer: Any, ctx: StrategyContext, working: Callable[[], Mapping[str, Decimal]]
    ) -> list[OrderIntent]:
        """``working``: signed quantity still to trade by symbol (asked only for targets)."""
        if answer is None:
            return []
        if type(answer) is dict:  # the usual answer, one intent in its loose form: no ABCs
            if len(answer) == 1 and "targets" in answer:
                return self._from_targets(answer["targets"], ctx, working())
            return [self._one(answer)]
        if isinstance(answer, Targets) or (
            isinstance(answer, Mapping) and set(answer) == {"targets"}
        ):
            raw = answer if isinstance(answer, Targets) else answer["targets"]
            return self._from_targets(raw, ctx, working())
        if isinstance(answer, OrderIntent | Mapping):
            answer = [answer]
        if not isinstance(answer, Iterable):
            raise ConfigError(
                f"a strategy returned {type(answer).__name__}: not intents or targets"
            )
        return [self._one(item) for item in answer]

    def _key(self) -> str:
        self.counter += 1
        return f"{self._prefix}{self.counter}"

    def _one(self, item: OrderIntent | Mapping[str, Any]) -> OrderIntent:
        if isinstance(item, OrderIntent):
            return item
        data = dict(item)
        if "idempotency_key" not in data and "key" not in data:
            data["idempotency_key"] = self._key()
        data.setdefault("strategy_id", self.strategy_id)
        return OrderIntent.parse(data)

    def _from_targets(
        self, targets: Mapping[str, Any], ctx: StrategyContext, working: Mapping[str, Decimal]
    ) -> list[OrderIntent]:
        out = []
        for symbol in sorted(targets):
            target = parse_decimal(targets[symbol], f"targets.{symbol}")
            delta = target - ctx.position(symbol) - working.get(symbol.upper(), ZERO)
            if delta == 0:
                continue
            out.append(
                self._one(
                    {
                        "symbol": symbol,
                        "side": "BUY" if delta > 0 else "SELL",
                        "qty": abs(delta),
                        "reason": f"target {target}",
                    }
                )
            )
        return out
