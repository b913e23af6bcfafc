"""JSON views of engine objects, one shape everywhere: events, CLI, HTTP, backtests.

Decimals are canonical strings, times ISO 8601, enums their names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ordergate.domain.fills import Fill
from ordergate.domain.money import fmt
from ordergate.domain.order import Order
from ordergate.store.base import StoredEvent

if TYPE_CHECKING:
    from ordergate.engine.engine import ExecutionEngine


def order_view(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "broker_order_id": order.broker_order_id,
        "idempotency_key": order.idempotency_key,
        "account_id": order.account_id,
        "strategy_id": order.strategy_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "qty": fmt(order.qty),
        "order_type": order.order_type.value,
        "limit_price": fmt(order.limit_price),
        "stop_price": fmt(order.stop_price),
        "time_in_force": order.time_in_force.value,
        "status": order.status.value,
        "filled_qty": fmt(order.filled_qty),
        "avg_fill_price": fmt(order.avg_fill_price),
        "arrival_price": fmt(order.arrival_price),
        "fees": fmt(order.fees),
        "late": order.late,
        "reason": order.reason or None,
        "error_code": order.error_code or None,
        "error_message": order.error_message or None,
        "attempts": order.attempts,
        "parent_order_id": order.parent_order_id,
        "version": order.version,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
    }


def fill_view(fill: Fill) -> dict[str, Any]:
    return {
        "exec_id": fill.exec_id,
        "last_qty": fmt(fill.last_qty),
        "last_px": fmt(fill.last_px),
        "commission": fmt(fill.commission),
        "liquidity": fill.liquidity,
        "late": fill.late,
        "ts": fill.ts.isoformat(),
    }


def event_view(event: StoredEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "topic": event.topic,
        "from": event.from_status,
        "to": event.to_status,
        "ts": event.ts.isoformat(),
    }


def detail_view(order: Order, fills: list[Fill], events: list[StoredEvent]) -> dict[str, Any]:
    """One order with its fills and events (``ordergate order``, ``GET /v1/orders/{id}``)."""
    data = order_view(order)
    data["fills"] = [fill_view(f) for f in fills]
    data["events"] = [event_view(e) for e in events]
    return data


def positions_view(engine: ExecutionEngine) -> list[dict[str, Any]]:
    marks = engine.marks()
    rows = []
    for p in engine.positions():
        mark_px = marks[p.symbol].last if p.symbol in marks else None
        rows.append(
            {
                "account_id": p.account_id,
                "symbol": p.symbol,
                "qty": fmt(p.qty) or "0",
                "avg_price": fmt(p.avg_price),
                "mark": fmt(mark_px),
                "market_value": fmt(p.market_value(mark_px)),
                "realized_pnl": fmt(p.realized_pnl),
                "unrealized_pnl": fmt(p.unrealized_pnl(mark_px)),
                "commission": fmt(p.commission),
            }
        )
    return rows


def pnl_view(engine: ExecutionEngine) -> dict[str, Any]:
    summary = engine.pnl()
    return {
        "realized_pnl": fmt(summary.realized_pnl),
        "realized_gross": fmt(summary.realized_gross),
        "commission": fmt(summary.commission),
        "unrealized_pnl": fmt(summary.unrealized_pnl),
        "total_pnl": fmt(summary.total_pnl),
        "daily": {day: fmt(value) for day, value in summary.daily.items()},
    }
