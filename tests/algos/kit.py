"""An engine over the scripted broker with a simulated clock, for the algorithm tests:
children rest until the test fills, rejects or cancels them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.bootstrap import Runtime, build_runtime
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.config import Settings
from ordergate.domain.enums import OrderStatus
from ordergate.domain.order import Order
from ordergate.domain.report import ExecutionReport
from ordergate.domain.wire import BrokerOrder, OrderRequest
from ordergate.engine.engine import ExecutionEngine
from ordergate.risk.config import RiskConfig
from ordergate.store.base import OrderQuery
from ordergate.store.sqlite import SqliteStore
from tests.fakes import ScriptedBroker

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@dataclass
class Rig:
    clock: SimulatedClock
    broker: ScriptedBroker
    runtime: Runtime
    store: SqliteStore
    fills: int = 0

    @property
    def engine(self) -> ExecutionEngine:
        return self.runtime.engine

    def submit(self, **fields: Any) -> ExecutionReport:
        intent = {"idempotency_key": "p1", "symbol": "AAPL", "side": "BUY", "qty": "100"}
        return self.engine.submit({**intent, **fields})

    def children(self, parent_id: str) -> list[Order]:
        everything = self.engine.orders(OrderQuery(limit=1000))
        orders = [o for o in everything if o.parent_order_id == parent_id]
        return sorted(orders, key=lambda o: int(o.idempotency_key.rsplit("-", 1)[-1]))

    def working(self, parent_id: str) -> list[Order]:
        return [o for o in self.children(parent_id) if o.is_open]

    def fill(self, order: Order, qty: str, px: str = "100") -> None:
        self.fills += 1
        self.broker.fill(order.client_order_id, qty, px, f"X{self.fills}")

    def advance(self, seconds: float) -> int:
        self.clock.advance(timedelta(seconds=seconds))
        return self.engine.algos.tick()

    def invariant(self, parent_id: str, qty: Decimal) -> None:
        """Nothing filled or working beyond the parent's quantity, ever."""
        kids = self.children(parent_id)
        filled = sum((o.filled_qty for o in kids), Decimal(0))
        working = sum((o.leaves_qty for o in kids if o.is_open), Decimal(0))
        assert filled + working <= qty, (filled, working, qty)


def rig(tmp_path: Path, risk: RiskConfig | None = None) -> Rig:
    clock = SimulatedClock(T0)
    broker = ScriptedBroker(clock)
    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    settings = Settings(risk_enabled=True)
    runtime = build_runtime(
        settings,
        store=store,
        broker=broker,
        clock=clock,
        ids=SequentialIds(),
        risk=risk or RiskConfig(duplicate_guard=None),
    )
    runtime.engine.mark("AAPL", "100", volume="0")
    return Rig(clock, broker, runtime, store)


def rejecting(request: OrderRequest, clock: SimulatedClock) -> BrokerOrder:
    """The broker's refusal of ``request``."""
    return BrokerOrder(
        client_order_id=request.client_order_id,
        broker_order_id=None,
        status=OrderStatus.REJECTED,
        symbol=request.symbol,
        side=request.side,
        qty=request.qty,
        ts=clock.now(),
        reason="no liquidity",
    )


__all__ = ["T0", "Rig", "rejecting", "replace", "rig"]
