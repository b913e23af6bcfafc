"""What a pre-trade gate sees and answers: step 3 of the submit path, as pure types.

The engine builds a :class:`GateContext` inside the unit of work that records the
intent, asks a :class:`PreTradeCheck` (the risk desk's chain is one) and records its
:class:`Rejection` as the order's outcome. They sit in the domain so that the gates
(``risk/``) and the engine both depend on them, and neither on the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable

from ordergate.domain.errors import ErrorCode, format_reason
from ordergate.domain.intent import OrderIntent
from ordergate.domain.market import Mark
from ordergate.domain.positions import Position


@dataclass(frozen=True, slots=True)
class Rejection:
    """A gate's "no": a code and key=value context. An outcome, not an exception."""

    code: ErrorCode
    context: Mapping[str, object] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """``E_RISK_DAILY_LOSS: realized=-5012.40 limit=-5000``"""
        return format_reason(self.code, **dict(self.context))


def _nothing_reserved() -> Decimal:
    return Decimal(0)


class GateContext:
    """What a gate may look at: the engine's view at the moment of the check.

    ``position`` and ``open_orders_qty`` may be given as values or as functions that
    read them; a function is called on the first read of its field and only then, so
    that a chain whose gates read neither (the operator's gates, with risk off) costs
    no read of the store. ``reserved_notional`` is asked only by a gate that needs it
    (buying power): the notional the account's working orders that add exposure tie
    up, counted inside the same unit of work as the check.
    """

    __slots__ = ("_open_qty", "_position", "mark", "reserved_notional")

    def __init__(
        self,
        *,
        position: Position | Callable[[], Position],
        mark: Mark | None,
        open_orders_qty: Decimal | Callable[[], Decimal],
        reserved_notional: Callable[[], Decimal] = _nothing_reserved,
    ) -> None:
        self._position = position
        self.mark = mark
        self._open_qty = open_orders_qty
        self.reserved_notional = reserved_notional

    @property
    def position(self) -> Position:
        """The account's position in the intent's symbol (flat when it holds none)."""
        position = self._position
        if not isinstance(position, Position):
            position = self._position = position()
        return position

    @property
    def open_orders_qty(self) -> Decimal:
        """The signed net quantity still working in the symbol (buys +, sells −)."""
        qty = self._open_qty
        if not isinstance(qty, Decimal):
            qty = self._open_qty = qty()
        return qty


class PreTradeCheck(Protocol):
    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        """Return ``None`` to let the intent through, or the first reason it may not go."""
        ...


class WarningCheck(Protocol):
    """An optional second face of a :class:`PreTradeCheck`: "proceed, but look".

    Where the check has it, the engine asks it after the check and, when it answers
    anything, records a ``risk.warning`` event, logs it and copies the notes to the
    execution report's ``warnings`` (a kill switch in WARNING: the order still goes).
    """

    def warnings(self, intent: OrderIntent, context: GateContext) -> tuple[str, ...]: ...


@runtime_checkable
class IntentAdjuster(Protocol):
    """A gate that may change an order's terms before it is built (not its identity)."""

    def adjust(self, intent: OrderIntent, mark: Mark | None) -> OrderIntent: ...


class InstrumentInfo(Protocol):
    """What the engine may ask about an instrument (the risk desk knows, from its limits)."""

    def tick_size(self, symbol: str) -> Decimal | None:
        """The price increment of ``symbol``, or None when it is not configured."""
        ...
