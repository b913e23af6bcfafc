"""Small builders for simulation tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ordergate.brokers.base import OrderRequest
from ordergate.domain.enums import OrderType, Side, TimeInForce
from ordergate.domain.market import Mark
from ordergate.sim.data import Bar

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
D = Decimal


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


_seq = iter(range(1, 1_000_000))


def req(
    side: str = "BUY",
    qty: str = "100",
    kind: str = "MARKET",
    *,
    limit: str | None = None,
    stop: str | None = None,
    tif: str = "GTC",
    expire_at: datetime | None = None,
    cid: str | None = None,
    symbol: str = "AAPL",
) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid or f"c{next(_seq)}",
        account_id="default",
        symbol=symbol,
        side=Side(side),
        qty=D(qty),
        order_type=OrderType(kind),
        time_in_force=TimeInForce(tif),
        limit_price=None if limit is None else D(limit),
        stop_price=None if stop is None else D(stop),
        expire_at=expire_at,
    )


def mark(last: str, seconds: float = 0, *, volume: str | None = None, symbol: str = "AAPL") -> Mark:
    return Mark(
        symbol=symbol,
        last=D(last),
        ts=at(seconds),
        volume=None if volume is None else D(volume),
    )


def bar(o: str, h: str, lo: str, c: str, seconds: float, *, volume: str | None = None) -> Bar:
    return Bar(
        symbol="AAPL",
        ts=at(seconds),
        open=D(o),
        high=D(h),
        low=D(lo),
        close=D(c),
        volume=None if volume is None else D(volume),
    )
