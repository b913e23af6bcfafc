"""Kite's order book, trades, positions and margins <-> our wire types.

Numbers: Kite's JSON numbers reach us as the SDK's floats; each becomes a Decimal by
``Decimal(str(x))`` here, at the boundary (the shortest repr of a float is the decimal
Kite sent, for prices and quantities of fewer than 16 digits). Going out, a price is
sent as a float only when that float reads back as the very same Decimal, and a
quantity only when it is a whole number (Kite takes ints): anything else is refused
before sending, with our code (:func:`order_params`).

Statuses (BROKERS.md, B5): ``COMPLETE`` → FILLED, ``CANCELLED`` → CANCELED, ``REJECTED``
→ REJECTED, ``OPEN``/``TRIGGER PENDING``/``MODIFY*``/``CANCEL PENDING`` → ACCEPTED (or
PARTIALLY_FILLED with fills), the ``... RECEIVED``/``... PENDING`` of entry →
SUBMITTED. A view is *whole*: its executions are the trades we were given, its
``filled_qty`` their sum — when the order book says more was filled than the trade book
shows yet, the view waits for the trades (a COMPLETE with trades missing is reported
PARTIALLY_FILLED until they come), so nothing is booked without its execution id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import BrokerRejected, ErrorCode
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.wire import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    Execution,
    OrderRequest,
)
from ordergate.risk.limits import InstrumentSpec

from .tags import client_id_for_tag, foreign_client_id, tag_for

IST = ZoneInfo("Asia/Kolkata")

_FINAL = {"COMPLETE": OrderStatus.FILLED, "CANCELLED": OrderStatus.CANCELED}
_ENTRY = {
    "PUT ORDER REQ RECEIVED",
    "VALIDATION PENDING",
    "OPEN PENDING",
    "AMO REQ RECEIVED",
}
_ORDER_TYPES = {
    OrderType.MARKET: "MARKET",
    OrderType.LIMIT: "LIMIT",
    OrderType.STOP: "SL-M",
    OrderType.STOP_LIMIT: "SL",
}
_FROM_KITE_TYPES = {v: k for k, v in _ORDER_TYPES.items()}
_VALIDITY = {TimeInForce.DAY: "DAY", TimeInForce.IOC: "IOC", TimeInForce.GTD: "TTL"}
_FROM_VALIDITY = {"DAY": TimeInForce.DAY, "IOC": TimeInForce.IOC, "TTL": TimeInForce.GTD}
#: what the raw receipt keeps of an order: never credentials or the account (user) id
_RAW_KEYS = (
    "order_id",
    "exchange_order_id",
    "status",
    "status_message",
    "variety",
    "exchange",
    "tradingsymbol",
    "order_type",
    "transaction_type",
    "validity",
    "product",
    "quantity",
    "price",
    "trigger_price",
    "average_price",
    "filled_quantity",
    "pending_quantity",
    "cancelled_quantity",
    "tag",
    "order_timestamp",
    "exchange_timestamp",
)


def dec(value: Any) -> Decimal:
    """A Kite number (the SDK's float, an int, a string) as the Decimal Kite sent."""
    if value is None or value == "":
        return ZERO
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return ZERO


def kite_time(value: Any) -> datetime | None:
    """Kite's timestamps are IST wall time (``2026-12-01 10:15:00``); ours are aware."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=IST)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=IST)
    return None


# ------------------------------------------------------------- symbols


def split_symbol(symbol: str, default_exchange: str) -> tuple[str, str]:
    """``NFO:NIFTY24DECFUT`` → (``NFO``, ``NIFTY24DECFUT``); ``INFY`` → (default, ``INFY``)."""
    exchange, sep, tradingsymbol = symbol.partition(":")
    if not sep:
        return default_exchange, symbol
    return exchange.upper(), tradingsymbol


def our_symbol(exchange: str, tradingsymbol: str, default_exchange: str) -> str:
    return tradingsymbol if exchange == default_exchange else f"{exchange}:{tradingsymbol}"


# ------------------------------------------------------------- out


def _exact_float(value: Decimal, name: str, client_order_id: str) -> float:
    number = float(value)
    if Decimal(repr(number)) != value:
        raise BrokerRejected(
            f"{name} {value} does not survive the SDK's float (it would be sent as "
            f"{number!r}); round it to the instrument's tick",
            code=ErrorCode.E_INTENT_INVALID,
            context={"client_order_id": client_order_id, "field": name},
        )
    return number


def order_params(
    request: OrderRequest,
    *,
    exchange: str,
    product: str,
    variety: str,
    market_protection: int | None,
) -> dict[str, Any]:
    """``place_order``'s keyword arguments for ``request`` (refused here, before sending,
    when a number would not cross the SDK unchanged or Kite has no such order)."""
    cid = request.client_order_id
    if request.qty != request.qty.to_integral_value() or request.qty <= 0:
        raise BrokerRejected(
            f"quantity {request.qty} is not a whole number of units; Kite takes integers",
            code=ErrorCode.E_INTENT_INVALID,
            context={"client_order_id": cid, "field": "qty"},
        )
    validity = _VALIDITY.get(request.time_in_force)
    if request.time_in_force is TimeInForce.GTC and product == "MIS":
        # Kite squares an intraday (MIS) position off by the day's end: no order on it can
        # outlive the day, so its GTC (a held bracket's leg) is a DAY order
        validity = "DAY"
    if validity is None:
        raise BrokerRejected(
            f"Kite has no time in force {request.time_in_force} (DAY, IOC, GTD as TTL; GTC "
            "only for MIS, as DAY: a carried position's protection needs Kite's GTT, which "
            "ordergate does not place)",
            code=ErrorCode.E_INTENT_INVALID,
            context={"client_order_id": cid, "field": "time_in_force"},
        )
    _, tradingsymbol = split_symbol(request.symbol, exchange)
    params: dict[str, Any] = {
        "variety": variety,
        "exchange": exchange,
        "tradingsymbol": tradingsymbol,
        "transaction_type": request.side.value,
        "quantity": int(request.qty),
        "product": product,
        "order_type": _ORDER_TYPES[request.order_type],
        "validity": validity,
        "tag": tag_for(cid),
    }
    if request.limit_price is not None:
        params["price"] = _exact_float(request.limit_price, "limit_price", cid)
    if request.stop_price is not None:
        params["trigger_price"] = _exact_float(request.stop_price, "stop_price", cid)
    if validity == "TTL":
        if request.expire_at is None:
            raise BrokerRejected(
                "a GTD order needs expire_at (sent as Kite's TTL in minutes)",
                code=ErrorCode.E_INTENT_INVALID,
                context={"client_order_id": cid, "field": "expire_at"},
            )
        minutes = (request.expire_at - datetime.now(UTC)).total_seconds() / 60
        params["validity_ttl"] = max(1, int(minutes))
    if request.order_type is OrderType.MARKET and market_protection is not None:
        params["market_protection"] = market_protection
    return params


# ------------------------------------------------------------- in


def client_id_of(order: Mapping[str, Any]) -> str:
    """Ours when it carries one of our tags (``tag`` or in ``tags``), else the broker's."""
    tags = [order.get("tag"), *(order.get("tags") or [])]
    for tag in tags:
        cid = client_id_for_tag(tag if isinstance(tag, str) else None)
        if cid is not None:
            return cid
    return foreign_client_id(str(order["order_id"]))


def execution_of(trade: Mapping[str, Any]) -> Execution:
    return Execution(
        exec_id=str(trade["trade_id"]),
        last_qty=dec(trade.get("quantity")),
        last_px=dec(trade.get("average_price")),
        ts=kite_time(trade.get("fill_timestamp") or trade.get("exchange_timestamp"))
        or datetime.now(UTC),
    )


def status_of(kite_status: str, filled: Decimal, qty: Decimal) -> OrderStatus:
    text = (kite_status or "").upper()
    if text == "REJECTED":
        return OrderStatus.REJECTED
    if text == "COMPLETE":
        return OrderStatus.FILLED if filled >= qty else OrderStatus.PARTIALLY_FILLED
    if text == "CANCELLED":
        return OrderStatus.CANCELED
    if text in _ENTRY:
        return OrderStatus.SUBMITTED
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED


def order_view(
    order: Mapping[str, Any], trades: Iterable[Mapping[str, Any]], default_exchange: str
) -> BrokerOrder:
    """One order of Kite's book with its trades, as a whole :class:`BrokerOrder`."""
    seen: dict[str, Execution] = {}
    for trade in trades:
        execution = execution_of(trade)
        seen.setdefault(execution.exec_id, execution)
    executions = tuple(sorted(seen.values(), key=lambda e: (e.ts, e.exec_id)))
    qty = dec(order.get("quantity"))
    filled = sum((e.last_qty for e in executions), ZERO)
    if filled > qty:  # never more than the order: keep the first trades that fit
        kept: list[Execution] = []
        total = ZERO
        for e in executions:
            if total + e.last_qty <= qty:
                kept.append(e)
                total += e.last_qty
        executions, filled = tuple(kept), total
    avg = sum((e.last_qty * e.last_px for e in executions), ZERO) / filled if filled else None
    status = status_of(str(order.get("status") or ""), filled, qty)
    if status is OrderStatus.CANCELED and filled > 0:
        status = OrderStatus.CANCELED  # a cancel after a partial fill keeps cum_qty
    price = dec(order.get("price"))
    trigger = dec(order.get("trigger_price"))
    kite_type = str(order.get("order_type") or "")
    raw = {k: order.get(k) for k in _RAW_KEYS if k in order}
    for key in ("order_timestamp", "exchange_timestamp"):
        stamp = raw.get(key)
        if isinstance(stamp, datetime):
            raw[key] = stamp.isoformat()
    foreign = (
        bool(order.get("placed_by")) and client_id_for_tag(str(order.get("tag") or "")) is None
    )
    if foreign:
        raw["origin"] = "broker"
    return BrokerOrder(
        originated_by_broker=foreign,
        client_order_id=client_id_of(order),
        broker_order_id=str(order["order_id"]),
        status=status,
        symbol=our_symbol(
            str(order.get("exchange") or default_exchange),
            str(order.get("tradingsymbol") or ""),
            default_exchange,
        ),
        side=Side(str(order.get("transaction_type") or "BUY").upper()),
        qty=qty,
        filled_qty=filled,
        avg_price=avg,
        executions=executions,
        reason=str(order.get("status_message") or "") if status is OrderStatus.REJECTED else "",
        ts=kite_time(order.get("exchange_timestamp") or order.get("order_timestamp")),
        order_type=_FROM_KITE_TYPES.get(kite_type),
        time_in_force=_FROM_VALIDITY.get(str(order.get("validity") or "")),
        limit_price=price if kite_type in ("LIMIT", "SL") and price else None,
        stop_price=trigger if kite_type in ("SL", "SL-M") and trigger else None,
        raw=raw,
    )


def positions_of(
    data: Mapping[str, Any], default_exchange: str, account_id: str
) -> list[BrokerPosition]:
    """Kite's ``net`` positions (all products of a symbol summed)."""
    by_symbol: dict[str, tuple[Decimal, Decimal]] = {}
    for row in data.get("net") or []:
        qty = dec(row.get("quantity"))
        if qty == 0:
            continue
        symbol = our_symbol(
            str(row.get("exchange")), str(row.get("tradingsymbol")), default_exchange
        )
        held, cost = by_symbol.get(symbol, (ZERO, ZERO))
        by_symbol[symbol] = (held + qty, cost + qty * dec(row.get("average_price")))
    return [
        BrokerPosition(
            symbol=symbol,
            qty=qty,
            avg_price=(cost / qty) if qty else ZERO,
            account_id=account_id,
        )
        for symbol, (qty, cost) in sorted(by_symbol.items())
        if qty != 0
    ]


def account_of(user_id: str, margins: Mapping[str, Any]) -> BrokerAccount:
    """The equity segment's margins: ``live_balance`` is the cash now, ``net`` the equity."""
    equity = margins.get("equity") or {}
    available = equity.get("available") or {}
    cash = dec(available.get("live_balance", available.get("cash")))
    return BrokerAccount(
        account_id=user_id,
        cash=cash,
        equity=dec(equity.get("net")),
        buying_power=cash,
        currency="INR",
    )


def book_views(
    orders: Iterable[Mapping[str, Any]], trades: Iterable[Mapping[str, Any]], exchange: str
) -> list[BrokerOrder]:
    """Today's order book as views, each order with its trades from the trade book."""
    by_order: dict[str, list[Mapping[str, Any]]] = {}
    for trade in trades:
        by_order.setdefault(str(trade.get("order_id")), []).append(trade)
    return [order_view(o, by_order.get(str(o.get("order_id")), []), exchange) for o in orders]


def quote_of(symbol: str, row: Mapping[str, Any] | None) -> Mark | None:
    """A ``quote`` row as a mark: last price, best bid and ask (``None``: no price)."""
    if not row or not row.get("last_price"):
        return None
    depth = row.get("depth") or {}
    bids = [b for b in depth.get("buy") or [] if b.get("price")]
    asks = [a for a in depth.get("sell") or [] if a.get("price")]
    ts = row.get("timestamp")
    return Mark(
        symbol=symbol,
        last=dec(row["last_price"]),
        ts=ts if isinstance(ts, datetime) and ts.tzinfo else datetime.now(UTC),
        bid=dec(bids[0]["price"]) if bids else None,
        ask=dec(asks[0]["price"]) if asks else None,
    )


def specs_of(rows: Iterable[Mapping[str, Any]], default_exchange: str) -> dict[str, InstrumentSpec]:
    """Tick and lot sizes of Kite's instrument list, as the gates' specs (F&O lots)."""
    specs: dict[str, InstrumentSpec] = {}
    for row in rows:
        tick, lot = dec(row.get("tick_size")), dec(row.get("lot_size"))
        symbol = our_symbol(str(row["exchange"]), str(row["tradingsymbol"]), default_exchange)
        specs[symbol] = InstrumentSpec(
            tick_size=tick if tick > 0 else None,
            lot_size=lot if lot > 0 else None,
            min_qty=lot if lot > 1 else None,
        )
    return specs
