"""JSON views of engine objects for the API: the CLI's shapes, Decimals as strings."""

from __future__ import annotations

from typing import Any

from ordergate.cli import order_dict, pnl_dict
from ordergate.domain.fills import Fill
from ordergate.domain.money import fmt
from ordergate.domain.order import Order
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.base import StoredEvent

__all__ = ["detail_view", "order_dict", "pnl_dict", "positions_view"]


def fill_view(fill: Fill) -> dict[str, Any]:
    return {
        "exec_id": fill.exec_id,
        "last_qty": fmt(fill.last_qty),
        "last_px": fmt(fill.last_px),
        "commission": fmt(fill.commission),
        "ts": fill.ts.isoformat(),
        "late": fill.late,
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
    data = order_dict(order)
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
