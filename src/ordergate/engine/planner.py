"""Target positions → orders (seed 002's order planner). Pure: no I/O, no clock.

For each symbol the raw target ``t`` is a quantity, or ``weight × equity / price``.
The plan moves the current position ``c`` towards ``t`` in whole lots:

- ``t == 0``: ``CLOSE`` the whole position (odd lots included: the desk can always
  get flat);
- ``c == 0``: ``OPEN_LONG`` / ``OPEN_SHORT`` ``trunc(|t| / lot) × lot``;
- ``t`` on the other side of zero (a flip): ``CLOSE`` ``|c|``, then ``OPEN_*`` as above;
- same side: ``INCREASE`` or ``REDUCE`` by ``trunc((t − c) / lot) × lot``.

Every step rounds toward the current position, never past the target, so the position
after the plan is within one lot of ``t``. Orders under ``min_qty`` are dropped (a
``CLOSE`` never is). The plan lists exposure-reducing orders (``CLOSE``, ``REDUCE``)
before the others, so that they free buying power first; within each group symbols
are in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Any

from ordergate.domain.enums import OrderType, Side
from ordergate.domain.errors import ErrorCode, InvalidIntent
from ordergate.domain.money import ONE, ZERO, fmt, parse_decimal

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._:/@#+=-]")


class PlanAction(StrEnum):
    OPEN_LONG = "OPEN_LONG"
    OPEN_SHORT = "OPEN_SHORT"
    INCREASE = "INCREASE"
    REDUCE = "REDUCE"
    CLOSE = "CLOSE"

    @property
    def reduces(self) -> bool:
        return self in (PlanAction.CLOSE, PlanAction.REDUCE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """A target position: exactly one of ``qty`` (signed; short is negative) or
    ``weight`` (signed fraction of equity)."""

    symbol: str
    qty: Decimal | None = None
    weight: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.qty is None) == (self.weight is None):
            raise InvalidIntent("target", f"{self.symbol}: give exactly one of qty or weight")


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedOrder:
    """One order of a plan; ``qty`` is positive, ``side`` carries the direction."""

    symbol: str
    side: Side
    qty: Decimal
    action: PlanAction
    current_qty: Decimal
    target_qty: Decimal
    price: Decimal | None = None

    @property
    def signed_qty(self) -> Decimal:
        return self.qty * self.side.sign

    def to_intent_dict(
        self,
        plan_id: str,
        index: int,
        *,
        strategy_id: str = "default",
        account_id: str = "default",
        order_type: OrderType = OrderType.MARKET,
        limit_price: Decimal | None = None,
    ) -> dict[str, Any]:
        """Input for ``OrderIntent.parse``. The key ``{plan_id}-{index}-{symbol}`` is
        stable, so running the same plan twice never sends an order twice."""
        key = _KEY_UNSAFE.sub("_", f"{plan_id}-{index}-{self.symbol}")[:128]
        out: dict[str, Any] = {
            "idempotency_key": key,
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": fmt(self.qty),
            "order_type": order_type.value,
            "strategy_id": strategy_id,
            "account_id": account_id,
            "tag": self.action.value,
            "reason": f"plan {plan_id}: {self.action.value} {fmt(self.current_qty)}"
            f" -> {fmt(self.target_qty)}",
        }
        if limit_price is not None:
            out["limit_price"] = fmt(limit_price)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": fmt(self.qty),
            "action": self.action.value,
            "current_qty": fmt(self.current_qty),
            "target_qty": fmt(self.target_qty),
            "price": fmt(self.price),
        }


def plan_orders(
    targets: Iterable[Target],
    positions: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    *,
    equity: Decimal | None = None,
    lot_size: Decimal | Mapping[str, Decimal] = ONE,
    min_qty: Decimal | Mapping[str, Decimal] = ZERO,
    close_missing: bool = False,
) -> list[PlannedOrder]:
    """Orders that move ``positions`` to ``targets``; see the module docstring.

    ``close_missing`` closes positions in symbols that have no target. A weight target
    needs ``equity`` and a price for its symbol.
    """
    wanted: dict[str, Target] = {}
    for target in targets:
        if target.symbol in wanted:
            raise InvalidIntent("target", f"{target.symbol} has two targets")
        wanted[target.symbol] = target
    if close_missing:
        for symbol, qty in positions.items():
            if symbol not in wanted and qty != 0:
                wanted[symbol] = Target(symbol=symbol, qty=ZERO)
    reducing: list[PlannedOrder] = []
    adding: list[PlannedOrder] = []
    for symbol in sorted(wanted):
        target_qty = _target_qty(wanted[symbol], prices, equity)
        lot = _per_symbol(lot_size, symbol, ONE)
        if lot <= 0:
            raise InvalidIntent("lot_size", f"{symbol}: must be greater than zero")
        least = _per_symbol(min_qty, symbol, ZERO)
        legs = _legs(symbol, positions.get(symbol, ZERO), target_qty, lot, prices.get(symbol))
        for leg in legs:
            if leg.action is not PlanAction.CLOSE and leg.qty < least:
                continue
            (reducing if leg.action.reduces else adding).append(leg)
    return reducing + adding


def _target_qty(target: Target, prices: Mapping[str, Decimal], equity: Decimal | None) -> Decimal:
    if target.qty is not None:
        return target.qty
    weight = target.weight if target.weight is not None else ZERO
    if equity is None:
        raise InvalidIntent("equity", f"{target.symbol}: a weight target needs the equity")
    price = prices.get(target.symbol)
    if price is None or price <= 0:
        raise InvalidIntent(
            "prices",
            f"{target.symbol}: a weight target needs a price",
            code=ErrorCode.E_EXEC_NO_MARKET_DATA,
        )
    return weight * equity / price


def _legs(
    symbol: str, current: Decimal, target: Decimal, lot: Decimal, price: Decimal | None
) -> list[PlannedOrder]:
    def order(side: Side, qty: Decimal, action: PlanAction) -> PlannedOrder:
        return PlannedOrder(
            symbol=symbol,
            side=side,
            qty=qty,
            action=action,
            current_qty=current,
            target_qty=target,
            price=price,
        )

    def open_leg() -> list[PlannedOrder]:
        qty = _whole_lots(abs(target), lot)
        if qty == 0:
            return []
        if target > 0:
            return [order(Side.BUY, qty, PlanAction.OPEN_LONG)]
        return [order(Side.SELL, qty, PlanAction.OPEN_SHORT)]

    close_side = Side.SELL if current > 0 else Side.BUY
    if target == 0:
        return [] if current == 0 else [order(close_side, abs(current), PlanAction.CLOSE)]
    if current == 0:
        return open_leg()
    if (target > 0) != (current > 0):
        return [order(close_side, abs(current), PlanAction.CLOSE), *open_leg()]
    step = _whole_lots(abs(target - current), lot)
    if step == 0:
        return []
    side = Side.BUY if target > current else Side.SELL
    after = abs(current) + (step if side.sign * current > 0 else -step)
    action = PlanAction.INCREASE if after > abs(current) else PlanAction.REDUCE
    return [order(side, step, action)]


def _whole_lots(qty: Decimal, lot: Decimal) -> Decimal:
    """``qty`` rounded down to a multiple of ``lot`` (``qty`` is not negative)."""
    return (qty / lot).to_integral_value(rounding=ROUND_DOWN) * lot


def _per_symbol(value: Decimal | Mapping[str, Decimal], symbol: str, default: Decimal) -> Decimal:
    if isinstance(value, Mapping):
        return value.get(symbol, default)
    return value


def parse_targets(data: Any) -> list[Target]:
    """Targets from JSON: ``{"AAPL": {"qty": "100"}, "MSFT": {"weight": "0.1"}}``, a
    bare number meaning a quantity, or a list of ``{"symbol": ..., "qty"|"weight": ...}``.
    """
    items: list[tuple[str, Any]]
    if isinstance(data, Mapping):
        items = [(str(symbol), spec) for symbol, spec in data.items()]
    elif isinstance(data, list):
        items = []
        for spec in data:
            if not isinstance(spec, Mapping) or "symbol" not in spec:
                raise InvalidIntent("targets", "each target needs a symbol")
            items.append((str(spec["symbol"]), {k: v for k, v in spec.items() if k != "symbol"}))
    else:
        raise InvalidIntent("targets", "must be an object by symbol or a list of targets")
    out: list[Target] = []
    for symbol, spec in items:
        name = symbol.strip().upper()
        if not isinstance(spec, Mapping):
            out.append(Target(symbol=name, qty=parse_decimal(spec, f"{name}.qty")))
            continue
        unknown = set(spec) - {"qty", "weight"}
        if unknown:
            raise InvalidIntent(f"{name}.{sorted(unknown)[0]}", "is not a target field")
        qty, weight = spec.get("qty"), spec.get("weight")
        out.append(
            Target(
                symbol=name,
                qty=None if qty is None else parse_decimal(qty, f"{name}.qty"),
                weight=None if weight is None else parse_decimal(weight, f"{name}.weight"),
            )
        )
    return out
