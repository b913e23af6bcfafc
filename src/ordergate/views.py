"""JSON views of engine objects, one shape everywhere: events, CLI, HTTP, backtests.

Decimals are canonical strings, times ISO 8601, enums their names.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Protocol

from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.money import fmt
from ordergate.domain.order import Order
from ordergate.domain.positions import PnlSummary, Position
from ordergate.domain.timestamps import iso
from ordergate.store.base import StoredEvent


class Book(Protocol):
    """What the position and P&L views read (the engine answers it)."""

    def marks(self) -> dict[str, Mark]: ...

    def positions(self, account_id: str | None = None) -> list[Position]: ...

    def pnl(self, account_id: str | None = None) -> PnlSummary: ...


#: What changes in an order from one event to the next, in this order (see
#: :func:`order_state_view`); everything else is fixed when the order is created.
order_state = attrgetter(
    "broker_order_id",
    "status",
    "filled_qty",
    "avg_fill_price",
    "fees",
    "late",
    "reason",
    "error_code",
    "error_message",
    "attempts",
    "version",
    "updated_at",
)


def order_view(order: Order) -> dict[str, Any]:
    return {**order_terms_view(order), **order_state_view(order_state(order))}


def order_terms_view(order: Order) -> dict[str, Any]:
    """The part of an order's view fixed at creation. (``str()`` of a StrEnum is its
    value, cheaper than the enum's ``.value``: these views are built for every order.)"""
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "idempotency_key": order.idempotency_key,
        "account_id": order.account_id,
        "strategy_id": order.strategy_id,
        "symbol": order.symbol,
        "side": str(order.side),
        "qty": fmt(order.qty),
        "order_type": str(order.order_type),
        "limit_price": fmt(order.limit_price),
        "stop_price": fmt(order.stop_price),
        "time_in_force": str(order.time_in_force),
        "arrival_price": fmt(order.arrival_price),
        "parent_order_id": order.parent_order_id,
        "created_at": iso(order.created_at),
    }


def order_state_view(state: tuple[Any, ...]) -> dict[str, Any]:
    """The changing part of an order's view, from an :data:`order_state` snapshot."""
    (
        broker_order_id,
        status,
        filled_qty,
        avg_fill_price,
        fees,
        late,
        reason,
        error_code,
        error_message,
        attempts,
        version,
        updated_at,
    ) = state
    return {
        "broker_order_id": broker_order_id,
        "status": str(status),
        "filled_qty": fmt(filled_qty),
        "avg_fill_price": fmt(avg_fill_price),
        "fees": fmt(fees),
        "late": late,
        "reason": reason or None,
        "error_code": error_code or None,
        "error_message": error_message or None,
        "attempts": attempts,
        "version": version,
        "updated_at": iso(updated_at),
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


def positions_view(engine: Book) -> list[dict[str, Any]]:
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


def pnl_view(engine: Book) -> dict[str, Any]:
    summary = engine.pnl()
    return {
        "realized_pnl": fmt(summary.realized_pnl),
        "realized_gross": fmt(summary.realized_gross),
        "commission": fmt(summary.commission),
        "unrealized_pnl": fmt(summary.unrealized_pnl),
        "total_pnl": fmt(summary.total_pnl),
        "daily": {day: fmt(value) for day, value in summary.daily.items()},
    }
