"""The simulated exchange's wire protocol: JSON over HTTP/1.1 on loopback.

One request per connection (``Connection: close``); bodies are JSON objects; every
Decimal travels as a string (never a JSON number), every time as ISO 8601 UTC.

=======  ====================================  ==========================================
method   path                                  answer
=======  ====================================  ==========================================
POST     /v1/orders                            200 ``{"order": O, "duplicate": bool}``;
                                               422 ``{"error": "rejected", "reason",
                                               "order": O}`` — a definitive no
GET      /v1/orders/{client_order_id}          200 ``{"order": O}`` | 404: never received
POST     /v1/orders/{client_order_id}/cancel   200 ``{"order": O}`` | 404
POST     /v1/orders/{client_order_id}/replace  200 ``{"order": O}`` | 404 | 422 (final, or
                                               qty not above filled); body ``{"replace_id",
                                               "qty"?, "limit_price"?, "stop_price"?}``,
                                               in place; a repeated ``replace_id`` is
                                               not applied again (``O.replaces``)
GET      /v1/orders?open=1                     200 ``{"orders": [O…]}`` (``all=1``: every
                                               order, duplicates included)
GET      /v1/positions[?account=A]             200 ``{"positions": [P…]}``
GET      /v1/account[?account=A]               200 ``{"account": A}``
POST     /v1/marks                             200 ``{"filled": n}`` body: ``{"symbol",
                                               "last", "bid"?, "ask"?}``
GET      /v1/reports?after=SEQ&wait=S          200 ``{"reports": [{"seq", "order": O}],
                                               "last": SEQ}`` — a long poll: it answers
                                               at once when reports after SEQ exist,
                                               else within S seconds
GET|POST /v1/faults                            the run's fault knobs (see ``faults.py``)
GET      /v1/health                            200 ``{"ok": true}``
=======  ====================================  ==========================================

``O`` is an order view (:func:`order_to_json`). Every change of an order appends one
execution report (the whole view after the change) to the report stream.

Answers that guarantee *nothing was done*: **503** and **429** (with ``Retry-After``).
Any other failure after the request was sent — a dropped connection, a read timeout,
another 5xx — leaves the outcome **unknown**: look the order up before sending again.

Per-request fault knobs go in the ``X-Fault`` header, comma separated, e.g.
``X-Fault: drop_reply,latency_ms=300`` (see ``faults.py``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.money import fmt
from ordergate.domain.wire import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    Execution,
    OrderRequest,
)

FAULT_HEADER = "X-Fault"
API = "/v1"


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _ts(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def request_from_json(data: dict[str, Any]) -> OrderRequest:
    """Parse a submit body; raise ``KeyError``/``ValueError`` on a malformed one."""
    return OrderRequest(
        client_order_id=str(data["client_order_id"]),
        account_id=str(data.get("account_id") or "default"),
        symbol=str(data["symbol"]).upper(),
        side=Side(str(data["side"]).upper()),
        qty=Decimal(str(data["qty"])),
        order_type=OrderType(str(data.get("order_type") or "MARKET").upper()),
        time_in_force=TimeInForce(str(data.get("time_in_force") or "DAY").upper()),
        limit_price=_dec(data.get("limit_price")),
        stop_price=_dec(data.get("stop_price")),
        expire_at=_ts(data.get("expire_at")),
        parent_client_order_id=data.get("parent_client_order_id"),
        oco_group=data.get("oco_group"),
    )


def execution_to_json(e: Execution) -> dict[str, Any]:
    return {
        "exec_id": e.exec_id,
        "last_qty": fmt(e.last_qty),
        "last_px": fmt(e.last_px),
        "commission": fmt(e.commission),
        "ts": e.ts.isoformat(),
        "liquidity": e.liquidity,
    }


def execution_from_json(data: dict[str, Any]) -> Execution:
    return Execution(
        exec_id=str(data["exec_id"]),
        last_qty=Decimal(str(data["last_qty"])),
        last_px=Decimal(str(data["last_px"])),
        commission=Decimal(str(data.get("commission") or "0")),
        ts=datetime.fromisoformat(str(data["ts"])),
        liquidity=str(data.get("liquidity") or ""),
    )


def order_to_json(
    request: OrderRequest,
    *,
    broker_order_id: str,
    status: OrderStatus,
    executions: list[Execution],
    reason: str,
    ts: datetime,
) -> dict[str, Any]:
    filled = sum((e.last_qty for e in executions), Decimal(0))
    notional = sum((e.last_qty * e.last_px for e in executions), Decimal(0))
    return {
        **request.to_dict(),
        "broker_order_id": broker_order_id,
        "status": status.value,
        "filled_qty": fmt(filled),
        "avg_price": fmt(notional / filled) if filled else None,
        "reason": reason,
        "ts": ts.isoformat(),
        "executions": [execution_to_json(e) for e in executions],
    }


def order_from_json(data: dict[str, Any]) -> BrokerOrder:
    return BrokerOrder(
        client_order_id=str(data["client_order_id"]),
        broker_order_id=str(data["broker_order_id"]),
        status=OrderStatus(str(data["status"])),
        symbol=str(data["symbol"]),
        side=Side(str(data["side"])),
        qty=Decimal(str(data["qty"])),
        filled_qty=Decimal(str(data.get("filled_qty") or "0")),
        avg_price=_dec(data.get("avg_price")),
        executions=tuple(execution_from_json(e) for e in data.get("executions", ())),
        reason=str(data.get("reason") or ""),
        ts=_ts(data.get("ts")),
        order_type=_enum(OrderType, data.get("order_type")),
        time_in_force=_enum(TimeInForce, data.get("time_in_force")),
        limit_price=_dec(data.get("limit_price")),
        stop_price=_dec(data.get("stop_price")),
        parent_client_order_id=_text(data.get("parent_client_order_id")),
        oco_group=_text(data.get("oco_group")),
        account_id=_text(data.get("account_id")),
        raw=dict(data),
    )


E = TypeVar("E", OrderType, TimeInForce)


def _enum(kind: type[E], value: Any) -> E | None:
    if value is None or value == "":
        return None
    try:
        return kind(str(value))
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def position_from_json(data: dict[str, Any]) -> BrokerPosition:
    return BrokerPosition(
        symbol=str(data["symbol"]),
        qty=Decimal(str(data["qty"])),
        avg_price=Decimal(str(data.get("avg_price") or "0")),
        account_id=str(data.get("account_id") or "default"),
    )


def account_from_json(data: dict[str, Any]) -> BrokerAccount:
    return BrokerAccount(
        account_id=str(data["account_id"]),
        cash=Decimal(str(data["cash"])),
        equity=Decimal(str(data["equity"])),
        buying_power=Decimal(str(data["buying_power"])),
        currency=str(data.get("currency") or "USD"),
    )
