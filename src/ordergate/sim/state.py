"""A venue's book as JSON: the paper broker's ``state_file``.

The format is the paper broker's original one (``orders``, ``marks``, ``next_id``,
``next_exec``) plus, per order, when it arrived and expires, and the commands still in
flight; files written before those keys existed load with them empty.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.wire import Execution, OrderRequest
from ordergate.sim.data import MarketEvent, last_tick
from ordergate.sim.order import VenueOrder
from ordergate.sim.venue import SimulatedVenue


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _opt_dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def venue_to_json(venue: SimulatedVenue) -> dict[str, Any]:
    return {
        "orders": {k: order_to_json(v) for k, v in venue.orders.items()},
        "marks": {k: mark_of(v).to_dict() for k, v in venue.last_events.items()},
        "next_id": venue.next_order,
        "next_exec": venue.next_exec,
        "inflight": [[at.isoformat(), seq, kind, cid] for at, seq, kind, cid in venue.inflight],
    }


def venue_from_json(venue: SimulatedVenue, data: dict[str, Any]) -> None:
    marks: dict[str, MarketEvent] = {k: mark_from_json(v) for k, v in data["marks"].items()}
    venue.restore(
        {k: order_from_json(v) for k, v in data["orders"].items()},
        marks,
        next_order=int(data["next_id"]),
        next_exec=int(data["next_exec"]),
        inflight=[
            (datetime.fromisoformat(at), int(seq), str(kind), str(cid))
            for at, seq, kind, cid in data.get("inflight", [])
        ],
    )


def mark_of(event: MarketEvent) -> Mark:
    """The market an event leaves behind, as a mark (what the state file keeps)."""
    if isinstance(event, Mark):
        return event
    tick = last_tick(event)
    return Mark(symbol=event.symbol, last=tick.price, bid=tick.bid, ask=tick.ask, ts=event.ts)


def order_to_json(order: VenueOrder) -> dict[str, Any]:
    return {
        "request": order.request.to_dict(),
        "broker_order_id": order.broker_order_id,
        "status": order.status.value,
        "triggered": order.triggered,
        "reason": order.reason,
        "ts": None if order.ts is None else order.ts.isoformat(),
        "arrival": None if order.arrival is None else order.arrival.isoformat(),
        "deadline": None if order.deadline is None else order.deadline.isoformat(),
        "cancel_pending": order.cancel_pending,
        "resting": order.resting,
        "first_px": fmt(order.first_px),
        "replaces": list(order.replaces),
        "executions": [
            {
                "exec_id": e.exec_id,
                "last_qty": fmt(e.last_qty),
                "last_px": fmt(e.last_px),
                "commission": fmt(e.commission),
                "ts": e.ts.isoformat(),
                "liquidity": e.liquidity,
            }
            for e in order.executions
        ],
    }


def order_from_json(data: dict[str, Any]) -> VenueOrder:
    r = data["request"]
    request = OrderRequest(
        client_order_id=r["client_order_id"],
        account_id=r["account_id"],
        symbol=r["symbol"],
        side=Side(r["side"]),
        qty=Decimal(r["qty"]),
        order_type=OrderType(r["order_type"]),
        time_in_force=TimeInForce(r["time_in_force"]),
        limit_price=_opt_dec(r["limit_price"]),
        stop_price=_opt_dec(r["stop_price"]),
        expire_at=_time(r["expire_at"]),
        parent_client_order_id=r.get("parent_client_order_id"),
        oco_group=r.get("oco_group"),
    )
    executions = [
        Execution(
            exec_id=e["exec_id"],
            last_qty=Decimal(e["last_qty"]),
            last_px=Decimal(e["last_px"]),
            commission=Decimal(e["commission"]),
            ts=datetime.fromisoformat(e["ts"]),
            liquidity=e["liquidity"],
        )
        for e in data["executions"]
    ]
    status = OrderStatus(data["status"])
    ts = _time(data["ts"])
    return VenueOrder(
        request=request,
        broker_order_id=data["broker_order_id"],
        status=status,
        triggered=data["triggered"],
        reason=data["reason"],
        ts=ts,
        # files from before latency existed: an open order had arrived when submitted
        arrival=_time(data["arrival"]) if "arrival" in data else ts,
        deadline=_time(data.get("deadline")),
        cancel_pending=bool(data.get("cancel_pending", False)),
        # files from before makers were told apart: an arrived order had met the market
        resting=bool(data.get("resting", "arrival" not in data or data["arrival"] is not None)),
        first_px=_opt_dec(data.get("first_px")),
        executions=executions,
        filled_qty=sum((e.last_qty for e in executions), ZERO),
        replaces=list(data.get("replaces", ())),
    )


def mark_from_json(data: dict[str, Any]) -> Mark:
    return Mark(
        symbol=data["symbol"],
        last=Decimal(data["last"]),
        bid=_opt_dec(data["bid"]),
        ask=_opt_dec(data["ask"]),
        volume=_opt_dec(data["volume"]),
        ts=datetime.fromisoformat(data["ts"]),
    )
