"""The cash ledger: cash per account, fed by every booked fill and fee, in every mode.

Cash moves only with a fill: a buy of ``q`` at ``p`` with commission ``c`` takes
``q × p + c``; a sell brings ``q × p − c``. The ledger is changed inside the unit of
work that books the fill (under the store's write lock) and put back should that unit
fail to commit, so a gate that reads it never sees a fill the store does not have, nor
misses one it has. Equity is cash plus the positions at their last marks.

It is rebuilt at start from the stored positions, which hold what every fill did:
``cash = start + Σ (realized gross − commission − qty × average cost)``. The average
cost is a quotient, so a rebuilt balance can differ from the running one by rounding
far below the currency's minor unit; the broker's account settles it on sync
(:meth:`CashLedger.compare`).

Buying power is what the cash leaves once the working orders that add exposure have
reserved theirs (see :func:`reserved_notional`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from ordergate.domain.enums import Side
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.order import Order
from ordergate.domain.positions import Position

#: (account, cash change, symbol, signed quantity change): one fill's move, to undo it
CashMove = tuple[str, Decimal, str, Decimal]


@dataclass(frozen=True, slots=True)
class CashCheck:
    """Our cash beside the broker's, for one account (a reconcile line)."""

    account_id: str
    ours: Decimal
    broker: Decimal
    tolerance: Decimal

    @property
    def difference(self) -> Decimal:
        return self.broker - self.ours

    @property
    def matches(self) -> bool:
        return abs(self.difference) <= self.tolerance


class CashLedger:
    """Cash and position quantities per account, exact in Decimal, thread-safe."""

    def __init__(self, starting_cash: Decimal | Mapping[str, Decimal]) -> None:
        if isinstance(starting_cash, Mapping):
            self._start = dict(starting_cash)
            self._default = ZERO
        else:
            self._start = {}
            self._default = starting_cash
        self._cash: dict[str, Decimal] = {}
        self._qty: dict[str, dict[str, Decimal]] = {}
        self._lock = threading.Lock()

    def starting_cash(self, account_id: str) -> Decimal:
        return self._start.get(account_id, self._default)

    def rebuild(self, positions: Iterable[Position]) -> None:
        """Forget everything and start again from the stored positions."""
        cash: dict[str, Decimal] = {}
        qty: dict[str, dict[str, Decimal]] = {}
        for p in positions:
            flow = p.realized_gross - p.commission - p.qty * p.avg_price
            cash[p.account_id] = cash.get(p.account_id, self.starting_cash(p.account_id)) + flow
            if p.qty:
                qty.setdefault(p.account_id, {})[p.symbol] = p.qty
        with self._lock:
            self._cash, self._qty = cash, qty

    def cash(self, account_id: str) -> Decimal:
        with self._lock:
            return self._cash.get(account_id, self.starting_cash(account_id))

    def holdings(self, account_id: str) -> dict[str, Decimal]:
        """Signed quantity per symbol the account holds."""
        with self._lock:
            return dict(self._qty.get(account_id, {}))

    def holders(self, symbol: str) -> list[str]:
        """The accounts that hold ``symbol`` (whose equity a mark of it moves)."""
        with self._lock:
            return [account for account, book in self._qty.items() if symbol in book]

    def accounts(self) -> list[str]:
        with self._lock:
            return sorted(set(self._cash) | set(self._start))

    def apply_fill(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        commission: Decimal,
    ) -> CashMove:
        """Book one fill's cash; return the move, so that a failed commit can undo it."""
        signed = qty if side is Side.BUY else -qty
        delta = -(signed * price) - commission
        with self._lock:  # one move per booked fill: kept free of calls and copies
            cash = self._cash.get(account_id)
            if cash is None:
                cash = self._start.get(account_id, self._default)
            self._cash[account_id] = cash + delta
            book = self._qty.get(account_id)
            if book is None:
                book = self._qty[account_id] = {}
            left = book.get(symbol, ZERO) + signed
            if left:
                book[symbol] = left
            else:
                book.pop(symbol, None)
        return (account_id, delta, symbol, signed)

    def undo(self, moves: Iterable[CashMove]) -> None:
        for move in moves:
            self._apply(move, -1)

    def _apply(self, move: CashMove, sign: int) -> None:
        account_id, delta, symbol, signed = move
        with self._lock:
            self._cash[account_id] = (
                self._cash.get(account_id, self.starting_cash(account_id)) + sign * delta
            )
            book = self._qty.setdefault(account_id, {})
            left = book.get(symbol, ZERO) + sign * signed
            if left:
                book[symbol] = left
            else:
                book.pop(symbol, None)

    def equity(self, account_id: str, marks: Mapping[str, Mark]) -> Decimal | None:
        """Cash plus the positions at their last marks; ``None`` while a held symbol
        has no mark (an equity figure that leaves a position out would be wrong)."""
        with self._lock:
            value = self._cash.get(account_id, self.starting_cash(account_id))
            for symbol, qty in self._qty.get(account_id, {}).items():
                mark = marks.get(symbol)
                if mark is None:
                    return None
                value += qty * mark.last
        return value

    def compare(self, account_id: str, broker_cash: Decimal, tolerance: Decimal) -> CashCheck:
        return CashCheck(account_id, self.cash(account_id), broker_cash, tolerance)

    def calibrate(self, account_id: str, broker_cash: Decimal) -> None:
        """Move the account's start so that its cash is the broker's (LIVE, at start:
        the broker's account is the truth of what the account holds)."""
        with self._lock:
            current = self._cash.get(account_id, self.starting_cash(account_id))
            self._start[account_id] = self.starting_cash(account_id) + broker_cash - current
            self._cash[account_id] = broker_cash


def reference(order: Order) -> Decimal | None:
    """The price an order's reservation is valued at: its limit, else its stop, else
    the mark it arrived at."""
    return order.limit_price or order.stop_price or order.arrival_price


def reserved_notional(orders: Iterable[Order], positions: Mapping[str, Decimal]) -> Decimal:
    """What working orders tie up: ``leaves × reference price`` of every order that
    would add exposure (a buy while flat or long, a sell while flat or short), given
    the signed position per symbol. Reducing orders reserve nothing."""
    total = ZERO
    for order in orders:
        held = positions.get(order.symbol, ZERO)
        adds = held >= 0 if order.side is Side.BUY else held <= 0
        price = reference(order)
        if adds and price is not None:
            total += order.leaves_qty * price
    return total
