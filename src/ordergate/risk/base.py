"""What every gate shares: the ``Gate`` shape, exposure arithmetic, reference prices.

A gate answers one question about one intent and returns ``None`` (go) or a
:class:`~ordergate.domain.gates.Rejection` (no, with a code and key=value context).
Gates read no wall clock and do no I/O: time comes from an injected
:class:`~ordergate.clock.Clock`, state from objects the engine feeds.

``open_orders_qty`` in :class:`~ordergate.domain.gates.GateContext` is read as the
*signed* net quantity of the account's working orders in the symbol (buys positive,
sells negative); exposure checks count working reducing orders against the position so
that two closing orders sent back to back cannot flip it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from ordergate.domain.enums import Side
from ordergate.domain.errors import ErrorCode
from ordergate.domain.gates import GateContext, Rejection
from ordergate.domain.intent import OrderIntent
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO

#: Maps a moment to its trading day (``YYYY-MM-DD``); the engine passes its own.
TradingDayFn = Callable[[datetime], str]


def utc_trading_day(when: datetime) -> str:
    """The default trading day: the UTC calendar date."""
    return when.astimezone(UTC).date().isoformat()


class Gate(Protocol):
    """One pre-trade check. ``name`` is how the chain and its reports refer to it."""

    name: str

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None: ...


class WarningSource(Protocol):
    """A gate that can also say "proceed, but look" (a kill switch in WARNING)."""

    def warnings(self, intent: OrderIntent, context: GateContext) -> tuple[str, ...]: ...


def reject(code: ErrorCode, **context: object) -> Rejection:
    """A rejection whose context values are canonical text (Decimals without exponent)."""
    return Rejection(code, {key: _text(value) for key, value in context.items()})


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")  # keeps the given places: -5012.40 stays -5012.40
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def reduces_exposure(intent: OrderIntent, context: GateContext) -> bool:
    """True when the intent only shrinks the position (never opens, adds to or flips it).

    Working orders that already reduce the position count against it: with a long of
    100 and a working sell of 60, a new sell of 50 would flip and is not reducing.
    """
    position = context.position.qty
    if position == 0 or intent.side.sign * position > 0:
        return False
    working_reducing = max(ZERO, -context.open_orders_qty * (1 if position > 0 else -1))
    return intent.qty + working_reducing <= abs(position)


def reference_price(intent: OrderIntent, mark: Mark | None) -> Decimal | None:
    """The price an intent is valued at: its limit, else its stop, else the quote it
    would take (ask for a buy, bid for a sell), else the last trade; ``None`` if unknown.
    """
    if intent.limit_price is not None:
        return intent.limit_price
    if intent.stop_price is not None:
        return intent.stop_price
    if mark is None:
        return None
    quote = mark.ask if intent.side is Side.BUY else mark.bid
    return quote if quote is not None else mark.last


def no_market_data(intent: OrderIntent, gate: str) -> Rejection:
    """Fail closed: a check that needs a price cannot say yes without one."""
    return reject(ErrorCode.E_EXEC_NO_MARKET_DATA, symbol=intent.symbol, gate=gate)
