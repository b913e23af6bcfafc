"""Seed 004's frozen snapshot: an approved advisory, immutable, hashed for the audit
trail, checked by a decision tree before it may become an order.

The decision tree, in order (the first failing rule rejects)::

    expired?                         → E_INTENT_EXPIRED
    advisory_id empty?               → E_INTENT_INVALID (advisory_id)
    position_size ≤ 0?               → E_INTENT_INVALID (position_size)
    stop loss not on the losing side → E_INTENT_INVALID (sl_offset_pct)   long: sl ≥ 0
    take profit not on the winning   → E_INTENT_INVALID (tp_offset_pct)   long: tp ≤ 0
    → approved (the gate chain then checks kill switches, limits and breakers)

For a short (``side=SELL``) the offsets mirror: the stop loss is above the fill, the
take profit below. Stop loss and take profit come from the *fill* price, never the
reference price: ``SL = fill × (1 + sl_offset_pct)``, ``TP = fill × (1 + tp_offset_pct)``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from ordergate.domain.enums import OrderType, Side, TimeInForce
from ordergate.domain.errors import ErrorCode, InvalidIntent
from ordergate.domain.intent import OrderIntent
from ordergate.domain.money import ONE, fmt, parse_decimal

HUNDRED = Decimal(100)
_REQUIRED = (
    "symbol",
    "reference_price",
    "position_size",
    "sl_offset_pct",
    "tp_offset_pct",
    "expiration_timestamp",
)


@dataclass(frozen=True, slots=True)
class SnapshotDecision:
    """The decision tree's answer: approved, or the rule that failed with its code."""

    approved: bool
    rule: str = ""
    code: ErrorCode | None = None
    message: str = ""

    def raise_if_rejected(self) -> None:
        if self.code is not None:
            raise InvalidIntent(self.rule, self.message, code=self.code)


APPROVED = SnapshotDecision(approved=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class FrozenSnapshot:
    """An approved advisory, frozen: fields cannot change once created."""

    advisory_id: str
    symbol: str
    reference_price: Decimal
    position_size: Decimal
    sl_offset_pct: Decimal
    tp_offset_pct: Decimal
    expiration_timestamp: datetime
    side: Side = Side.BUY
    strategy_id: str = "default"
    account_id: str = "default"

    def __post_init__(self) -> None:
        if self.expiration_timestamp.tzinfo is None:
            raise InvalidIntent("expiration_timestamp", "must carry a time zone")

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> FrozenSnapshot:
        """From loose input (JSON): numbers become Decimals through their text."""
        for name in _REQUIRED:
            if data.get(name) is None:
                raise InvalidIntent(name, "is required")
        try:
            side = Side(str(data.get("side", "BUY")).upper())
        except ValueError:
            raise InvalidIntent("side", f"must be BUY or SELL, got {data.get('side')!r}") from None
        return cls(
            advisory_id=str(data.get("advisory_id", "")).strip(),
            symbol=str(data["symbol"]).strip().upper(),
            reference_price=parse_decimal(data["reference_price"], "reference_price"),
            position_size=parse_decimal(data["position_size"], "position_size"),
            sl_offset_pct=parse_decimal(data["sl_offset_pct"], "sl_offset_pct"),
            tp_offset_pct=parse_decimal(data["tp_offset_pct"], "tp_offset_pct"),
            expiration_timestamp=_time(data["expiration_timestamp"]),
            side=side,
            strategy_id=str(data.get("strategy_id", "default")),
            account_id=str(data.get("account_id", "default")),
        )

    def to_dict(self) -> dict[str, str]:
        """Canonical text of every field: Decimals normalised, the time in UTC."""
        return {
            "advisory_id": self.advisory_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "reference_price": fmt(self.reference_price) or "0",
            "position_size": fmt(self.position_size) or "0",
            "sl_offset_pct": fmt(self.sl_offset_pct) or "0",
            "tp_offset_pct": fmt(self.tp_offset_pct) or "0",
            "expiration_timestamp": self.expiration_timestamp.astimezone(UTC).isoformat(),
            "strategy_id": self.strategy_id,
            "account_id": self.account_id,
        }

    def snapshot_hash(self) -> str:
        """sha256 of the canonical JSON: the same snapshot hashes the same in any run
        (``150``, ``150.0`` and ``150.00`` are one price; a time is one instant)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def decide(self, now: datetime) -> SnapshotDecision:
        """Run the decision tree at ``now``."""
        if now >= self.expiration_timestamp:
            return _no(
                "expiration_timestamp",
                ErrorCode.E_INTENT_EXPIRED,
                f"advisory expired at {self.expiration_timestamp.isoformat()} "
                f"(now {now.isoformat()})",
            )
        if not self.advisory_id.strip():
            return _no("advisory_id", ErrorCode.E_INTENT_INVALID, "is empty")
        if self.position_size <= 0:
            return _no(
                "position_size",
                ErrorCode.E_INTENT_INVALID,
                f"must be greater than zero, got {fmt(self.position_size)}",
            )
        sign = self.side.sign
        if self.sl_offset_pct * sign >= 0:
            where = "negative (below the fill)" if sign > 0 else "positive (above the fill)"
            return _no(
                "sl_offset_pct",
                ErrorCode.E_INTENT_INVALID,
                f"must be {where} for a {self.side.value}, got {fmt(self.sl_offset_pct)}",
            )
        if self.tp_offset_pct * sign <= 0:
            where = "positive (above the fill)" if sign > 0 else "negative (below the fill)"
            return _no(
                "tp_offset_pct",
                ErrorCode.E_INTENT_INVALID,
                f"must be {where} for a {self.side.value}, got {fmt(self.tp_offset_pct)}",
            )
        return APPROVED

    def to_intent(
        self,
        now: datetime,
        *,
        idempotency_key: str | None = None,
        order_type: OrderType = OrderType.MARKET,
        limit_price: Decimal | None = None,
    ) -> OrderIntent:
        """The order intent for an approved snapshot; a rejected one raises
        :class:`InvalidIntent` with the decision's code. The default idempotency key is
        derived from the hash, so the same snapshot never becomes two orders."""
        self.decide(now).raise_if_rejected()
        return OrderIntent(
            idempotency_key=idempotency_key or f"snap-{self.snapshot_hash()[:40]}",
            symbol=self.symbol,
            side=self.side,
            qty=self.position_size,
            order_type=order_type,
            limit_price=limit_price,
            time_in_force=TimeInForce.DAY,
            expire_at=self.expiration_timestamp,
            account_id=self.account_id,
            strategy_id=self.strategy_id,
            sl_offset_pct=self.sl_offset_pct,
            tp_offset_pct=self.tp_offset_pct,
            decision_id=_safe_id(self.advisory_id),
            metadata={"advisory_id": self.advisory_id, "snapshot_hash": self.snapshot_hash()},
        )


def _time(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidIntent("expiration_timestamp", f"is not an ISO 8601 time: {value!r}") from None


def _no(rule: str, code: ErrorCode, message: str) -> SnapshotDecision:
    return SnapshotDecision(approved=False, rule=rule, code=code, message=message)


def _safe_id(text: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "._:/@#+=-" else "_" for ch in text)[:128]
    return cleaned if cleaned[:1].isalnum() else f"a{cleaned}"[:128]


# --------------------------------------------------------------------- brackets


@dataclass(frozen=True, slots=True, kw_only=True)
class BracketLeg:
    """One protective child: a STOP (stop loss) or a LIMIT (take profit)."""

    role: str
    side: Side
    qty: Decimal
    order_type: OrderType
    price: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Bracket:
    """The two children of a filled entry, one-cancels-other, sized to what filled."""

    stop_loss: BracketLeg
    take_profit: BracketLeg


def bracket_prices(
    side: Side,
    fill_price: Decimal,
    sl_offset_pct: Decimal,
    tp_offset_pct: Decimal,
    *,
    tick_size: Decimal | None = None,
) -> tuple[Decimal, Decimal]:
    """``(SL, TP)`` from the fill price: ``fill × (1 + offset)``.

    With a tick size both round *toward the fill*: the stop a little tighter, the
    target a little nearer — never a wider loss or a target the market must overshoot.
    """
    sign = side.sign
    if sl_offset_pct * sign >= 0 or tp_offset_pct * sign <= 0:
        raise InvalidIntent(
            "sl_offset_pct", f"offsets {sl_offset_pct}/{tp_offset_pct} are on the wrong side"
        )
    sl = fill_price * (ONE + sl_offset_pct)
    tp = fill_price * (ONE + tp_offset_pct)
    if tick_size is not None and tick_size > 0:
        up, down = (
            (ROUND_CEILING, ROUND_FLOOR) if side is Side.BUY else (ROUND_FLOOR, ROUND_CEILING)
        )
        sl = (sl / tick_size).to_integral_value(rounding=up) * tick_size
        tp = (tp / tick_size).to_integral_value(rounding=down) * tick_size
    return sl, tp


def bracket_for_fill(
    side: Side,
    filled_qty: Decimal,
    avg_fill_price: Decimal,
    sl_offset_pct: Decimal,
    tp_offset_pct: Decimal,
    *,
    tick_size: Decimal | None = None,
) -> Bracket:
    """The children for ``filled_qty`` (cumulative) at the average fill price.

    On a partial fill the children cover only what filled; when more fills, the engine
    replaces them with the bracket for the new cumulative quantity and average price.
    """
    if filled_qty <= 0:
        raise InvalidIntent("filled_qty", f"must be greater than zero, got {fmt(filled_qty)}")
    sl, tp = bracket_prices(side, avg_fill_price, sl_offset_pct, tp_offset_pct, tick_size=tick_size)
    exit_side = side.opposite
    return Bracket(
        stop_loss=BracketLeg(
            role="stop_loss", side=exit_side, qty=filled_qty, order_type=OrderType.STOP, price=sl
        ),
        take_profit=BracketLeg(
            role="take_profit", side=exit_side, qty=filled_qty, order_type=OrderType.LIMIT, price=tp
        ),
    )


def slippage_pct(side: Side, reference_price: Decimal, fill_price: Decimal) -> Decimal:
    """Slippage in percent of the reference; positive means the fill was worse."""
    return (fill_price - reference_price) * side.sign * HUNDRED / reference_price
