"""What a venue's retired orders leave behind, for a venue that forgets its final orders.

A long backtest cannot keep every order its venue ever took. A venue told to retire
final orders (:meth:`~ordergate.sim.venue.SimulatedVenue.retire_final`) forgets each
one some orders after it became final, and adds it here first: the positions and the
cash flow the paper broker reckons from orders (every execution, as
``fetch_positions`` and ``fetch_account`` book them), so those answers stay whole.
A retired order's own look-up is gone: the venue keeps the last ``keep`` final ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ordergate.domain.money import ZERO
from ordergate.domain.positions import Position, book
from ordergate.sim.order import VenueOrder


@dataclass(slots=True)
class Retired:
    #: (account, symbol) -> the position the retired orders' executions make
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    #: what the retired orders' executions took out of cash (flows and commissions)
    cash_out: Decimal = ZERO
    orders: int = 0

    def add(self, order: VenueOrder) -> None:
        req = order.request
        key = (req.account_id, req.symbol)
        position = self.positions.get(key)
        if position is None:
            position = self.positions[key] = Position(account_id=req.account_id, symbol=req.symbol)
        for execution in order.executions:
            position.apply_fill(req.side, execution.last_qty, execution.last_px, ZERO)
            flow = execution.last_qty * execution.last_px * req.side.sign
            self.cash_out += book(flow) + book(execution.commission)
        self.orders += 1
