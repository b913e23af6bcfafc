"""Mapping between domain objects and table rows, shared by every SQL backend.

Decimals are stored as canonical text so that no backend ever rounds money.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.events import PendingReplace, ReplaceKind
from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.order import Order
from ordergate.domain.positions import Position
from ordergate.domain.timestamps import iso

ORDER_COLUMNS = (
    "order_id",
    "client_order_id",
    "idempotency_key",
    "account_id",
    "strategy_id",
    "symbol",
    "side",
    "qty",
    "order_type",
    "limit_price",
    "stop_price",
    "time_in_force",
    "status",
    "broker_order_id",
    "filled_qty",
    "avg_fill_price",
    "fees",
    "late",
    "reason",
    "error_code",
    "error_message",
    "attempts",
    "arrival_price",
    "parent_order_id",
    "created_at",
    "updated_at",
    "submitted_at",
    "version",
    "sl_offset_pct",
    "tp_offset_pct",
    "replace_no",
    "pending_replace",
)
#: Columns an update may change (identity never changes; the terms only by a replace).
ORDER_MUTABLE = (
    "qty",
    "limit_price",
    "stop_price",
    "replace_no",
    "pending_replace",
    "status",
    "broker_order_id",
    "filled_qty",
    "avg_fill_price",
    "fees",
    "late",
    "reason",
    "error_code",
    "error_message",
    "attempts",
    "arrival_price",
    "updated_at",
    "submitted_at",
    "version",
)
FILL_COLUMNS = (
    "order_id",
    "exec_id",
    "symbol",
    "side",
    "last_qty",
    "last_px",
    "commission",
    "liquidity",
    "late",
    "ts",
)


def ts_text(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def ts_parse(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def order_values(order: Order) -> tuple[Any, ...]:
    return (
        order.order_id,
        order.client_order_id,
        order.idempotency_key,
        order.account_id,
        order.strategy_id,
        order.symbol,
        order.side.value,
        fmt(order.qty),
        order.order_type.value,
        fmt(order.limit_price),
        fmt(order.stop_price),
        order.time_in_force.value,
        order.status.value,
        order.broker_order_id,
        fmt(order.filled_qty),
        fmt(order.avg_fill_price),
        fmt(order.fees),
        int(order.late),
        order.reason,
        order.error_code,
        order.error_message,
        order.attempts,
        fmt(order.arrival_price),
        order.parent_order_id,
        ts_text(order.created_at),
        ts_text(order.updated_at),
        ts_text(order.submitted_at),
        order.version,
        fmt(order.sl_offset_pct),
        fmt(order.tp_offset_pct),
        order.replace_no,
        pending_text(order.pending_replace),
    )


def order_update_values(order: Order) -> tuple[Any, ...]:
    return (
        fmt(order.qty),
        fmt(order.limit_price),
        fmt(order.stop_price),
        order.replace_no,
        pending_text(order.pending_replace),
        order.status.value,
        order.broker_order_id,
        fmt(order.filled_qty),
        fmt(order.avg_fill_price),
        fmt(order.fees),
        int(order.late),
        order.reason,
        order.error_code,
        order.error_message,
        order.attempts,
        fmt(order.arrival_price),
        ts_text(order.updated_at),
        ts_text(order.submitted_at),
        order.version,
    )


#: the members by stored value: calling an Enum costs about a microsecond, a dict lookup
#: a twentieth of it (a backtest reads every order back for its report: four an order)
_SIDES = {m.value: m for m in Side}
_TYPES = {m.value: m for m in OrderType}
_TIFS = {m.value: m for m in TimeInForce}
_STATUSES = {m.value: m for m in OrderStatus}


def order_from_row(row: Sequence[Any]) -> Order:
    (
        order_id,
        client_order_id,
        key,
        account_id,
        strategy_id,
        symbol,
        side,
        qty,
        order_type,
        limit_price,
        stop_price,
        tif,
        status,
        broker_order_id,
        filled_qty,
        avg_fill_price,
        fees,
        late,
        reason,
        error_code,
        error_message,
        attempts,
        arrival_price,
        parent_order_id,
        created_at,
        updated_at,
        submitted_at,
        version,
        sl_offset_pct,
        tp_offset_pct,
        replace_no,
        pending_replace,
    ) = row
    return Order(
        order_id=order_id,
        client_order_id=client_order_id,
        idempotency_key=key,
        account_id=account_id,
        strategy_id=strategy_id,
        symbol=symbol,
        side=_SIDES.get(side) or Side(side),
        qty=Decimal(qty),
        order_type=_TYPES.get(order_type) or OrderType(order_type),
        limit_price=_dec(limit_price),
        stop_price=_dec(stop_price),
        time_in_force=_TIFS.get(tif) or TimeInForce(tif),
        status=_STATUSES.get(status) or OrderStatus(status),
        broker_order_id=broker_order_id,
        filled_qty=Decimal(filled_qty),
        avg_fill_price=_dec(avg_fill_price),
        fees=Decimal(fees),
        late=bool(late),
        reason=reason,
        error_code=error_code,
        error_message=error_message,
        attempts=attempts,
        arrival_price=_dec(arrival_price),
        parent_order_id=parent_order_id,
        created_at=ts_parse(created_at),
        updated_at=ts_parse(updated_at),
        submitted_at=None if submitted_at is None else ts_parse(submitted_at),
        version=version,
        sl_offset_pct=_dec(sl_offset_pct),
        tp_offset_pct=_dec(tp_offset_pct),
        replace_no=int(replace_no or 0),
        pending_replace=pending_parse(pending_replace),
    )


def pending_text(pending: PendingReplace | None) -> str | None:
    """A pending replace as the JSON text of its column (None: nothing pending)."""
    if pending is None:
        return None
    return json.dumps(
        {
            "number": pending.number,
            "client_order_id": pending.client_order_id,
            "kind": pending.kind.value,
            "qty": fmt(pending.qty),
            "limit_price": fmt(pending.limit_price),
            "stop_price": fmt(pending.stop_price),
            "key": pending.key,
            "digest": pending.digest,
            "ts": iso(pending.ts),
        },
        sort_keys=True,
    )


def pending_parse(text: Any) -> PendingReplace | None:
    if text is None:
        return None
    d = text if isinstance(text, dict) else json.loads(str(text))
    return PendingReplace(
        number=int(d["number"]),
        client_order_id=str(d["client_order_id"]),
        kind=ReplaceKind(d["kind"]),
        qty=Decimal(d["qty"]),
        limit_price=_dec(d["limit_price"]),
        stop_price=_dec(d["stop_price"]),
        key=str(d["key"]),
        digest=str(d["digest"]),
        ts=ts_parse(d["ts"]),
    )


FILL_INSERT = (
    "INSERT INTO fills (order_id, exec_id, account_id, strategy_id, symbol, side, "
    "last_qty, last_px, commission, realized_gross, liquidity, late, trading_day, ts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def fill_values(
    fill: Fill,
    account_id: str,
    strategy_id: str,
    realized_gross: Decimal,
    trading_day: str,
    ts: Any,
) -> tuple[Any, ...]:
    """The row of :data:`FILL_INSERT`; ``ts`` as the backend stores times."""
    return (
        fill.order_id,
        fill.exec_id,
        account_id,
        strategy_id,
        fill.symbol,
        fill.side.value,
        fmt(fill.last_qty),
        fmt(fill.last_px),
        fmt(fill.commission),
        fmt(realized_gross),
        fill.liquidity,
        int(fill.late),
        trading_day,
        ts,
    )


def fill_from_row(row: Sequence[Any]) -> Fill:
    order_id, exec_id, symbol, side, last_qty, last_px, commission, liquidity, late, ts = row
    return Fill(
        order_id=order_id,
        exec_id=exec_id,
        symbol=symbol,
        side=_SIDES.get(side) or Side(side),
        last_qty=Decimal(last_qty),
        last_px=Decimal(last_px),
        commission=Decimal(commission),
        liquidity=liquidity,
        late=bool(late),
        ts=ts_parse(ts),
    )


def position_from_row(row: Sequence[Any]) -> Position:
    account_id, symbol, qty, avg_price, realized_gross, commission = row
    return Position(
        account_id=account_id,
        symbol=symbol,
        qty=Decimal(qty),
        avg_price=Decimal(avg_price),
        realized_gross=Decimal(realized_gross),
        commission=Decimal(commission),
    )


def position_values(position: Position, ts: datetime) -> tuple[Any, ...]:
    return (
        position.account_id,
        position.symbol,
        fmt(position.qty) or "0",
        fmt(position.avg_price) or "0",
        fmt(position.realized_gross) or "0",
        fmt(position.commission) or "0",
        ts_text(ts),
    )


def mark_from_row(row: Sequence[Any]) -> Mark:
    symbol, last, bid, ask, volume, ts, seq = row
    return Mark(
        symbol=symbol,
        last=Decimal(last),
        bid=_dec(bid),
        ask=_dec(ask),
        volume=_dec(volume),
        ts=ts_parse(ts),
        seq=None if seq is None else int(seq),
    )


def mark_values(mark: Mark) -> tuple[Any, ...]:
    return (
        mark.symbol,
        fmt(mark.last),
        fmt(mark.bid),
        fmt(mark.ask),
        fmt(mark.volume),
        ts_text(mark.ts),
        mark.seq,
    )


#: A mark's upsert after ``INSERT INTO marks (...) VALUES (...)``: an older sequence
#: number than the one stored changes nothing; a mark without one keeps the stored one.
MARK_UPSERT = (
    "ON CONFLICT (symbol) DO UPDATE SET last = excluded.last, bid = excluded.bid, "
    "ask = excluded.ask, volume = excluded.volume, ts = excluded.ts, "
    "seq = COALESCE(excluded.seq, marks.seq) "
    "WHERE excluded.seq IS NULL OR marks.seq IS NULL OR excluded.seq > marks.seq"
)


def sum_text(values: Sequence[Any]) -> Decimal:
    total = ZERO
    for value in values:
        total += Decimal(str(value))
    return total
