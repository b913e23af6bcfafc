"""Seed 002's ``apply_execution_plan``: targets in, orders through the engine out.

The plan is computed from the engine's own positions and marks (the planner in
:mod:`ordergate.engine.planner` is pure), then each planned order goes down the normal
submit path — gates, persistence, idempotency. Keys are derived from the plan id, so
applying the same plan twice never trades twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ordergate.domain.enums import TradingMode
from ordergate.domain.errors import ConfigError
from ordergate.domain.money import ONE, ZERO
from ordergate.domain.report import ExecutionReport
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.planner import PlannedOrder, Target, plan_orders


@dataclass(frozen=True, slots=True)
class PlanResult:
    plan_id: str
    orders: tuple[PlannedOrder, ...]
    reports: tuple[ExecutionReport, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "orders": [o.to_dict() for o in self.orders],
            "reports": [r.to_dict() for r in self.reports],
        }


def current_book(
    engine: ExecutionEngine, account_id: str
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """The account's positions and the last marks, as the planner takes them."""
    positions = {p.symbol: p.qty for p in engine.positions(account_id) if p.qty != 0}
    prices = {symbol: mark.last for symbol, mark in engine.marks().items()}
    return positions, prices


def apply_execution_plan(
    engine: ExecutionEngine,
    targets: Iterable[Target],
    mode: TradingMode | str,
    *,
    plan_id: str,
    execute: bool = True,
    equity: Decimal | None = None,
    lot_size: Decimal = ONE,
    min_qty: Decimal = ZERO,
    strategy_id: str = "planner",
    account_id: str = "default",
) -> PlanResult:
    """Plan the orders that reach ``targets`` and, when ``execute``, submit them.

    ``mode`` must be the engine's mode: a plan meant for LIVE never runs on a paper
    engine by mistake, nor the other way round.
    """
    wanted = TradingMode(str(mode).upper())
    if wanted is not engine.config.mode:
        raise ConfigError(f"plan is for {wanted} but the engine runs in {engine.config.mode}")
    positions, prices = current_book(engine, account_id)
    planned = plan_orders(
        targets, positions, prices, equity=equity, lot_size=lot_size, min_qty=min_qty
    )
    reports: list[ExecutionReport] = []
    if execute and planned:  # one basket: gated together, two commits in all
        reports = engine.submit_many(
            [
                order.to_intent_dict(plan_id, index, strategy_id=strategy_id, account_id=account_id)
                for index, order in enumerate(planned)
            ]
        )
    return PlanResult(plan_id, tuple(planned), tuple(reports))
