"""The gates of a parent order (issue 18): the parent once, whole; each child through
the gates that change between slices (``risk.desk.SLICE_GATES``)."""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.gates import GateContext, Rejection
from ordergate.domain.intent import OrderIntent
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.engine.cash import reserved_notional
from ordergate.engine.core import EngineCore
from ordergate.engine.ports import PreTradeCheck
from ordergate.risk.desk import SLICE_GATES


class SliceGates:
    """The engine's gates as a child sees them: only those that change between slices.
    A check of its own (a test's) is asked whole."""

    def __init__(self, gates: PreTradeCheck | None) -> None:
        self._gates = gates

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        gates = self._gates
        if gates is None:
            return None
        slice_check = getattr(gates, "check_slice", None)  # the risk desk
        if callable(slice_check):
            rejection: Rejection | None = slice_check(intent, context)
            return rejection
        members = getattr(gates, "gates", None)  # a GateChain
        if isinstance(members, tuple):
            for gate in members:
                if gate.name in SLICE_GATES and (found := gate.check(intent, context)):
                    return found  # type: ignore[no-any-return]
            return None
        return gates.check(intent, context)

    def warnings(self, intent: OrderIntent, context: GateContext) -> tuple[str, ...]:
        warn = getattr(self._gates, "warnings", None)
        return tuple(warn(intent, context)) if callable(warn) else ()


def gate_parent(core: EngineCore, plain: OrderIntent, mark: Mark | None) -> Rejection | None:
    """The whole parent (``plain``: its intent without the algo) through every gate,
    once: its full size against size, notional and buying power, one trade against the
    trade counts, beside the account's working orders and position."""
    if core.gates is None:
        return None
    account, symbol = plain.account_id, plain.symbol
    with core.store.transaction() as tx:
        working = tx.open_orders_for(account, symbol)

        def reserved() -> Decimal:
            return reserved_notional(tx.open_orders_for(account), core.cash.holdings(account))

        context = GateContext(
            position=tx.get_position(account, symbol),
            mark=mark,
            open_orders_qty=sum((o.leaves_qty * o.side.sign for o in working), ZERO),
            reserved_notional=reserved,
        )
        return core.gates.check(plain, context)
