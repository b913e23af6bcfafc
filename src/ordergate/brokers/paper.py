"""The paper broker: an in-process, deterministic venue that fills against marks.

Market orders fill at once at the price model's price; a limit fills when marketable
(at its limit or better), otherwise it rests and fills when a later mark crosses it;
stops trigger on a cross and then behave as market (STOP) or limit (STOP_LIMIT)
orders. A repeated ``client_order_id`` is answered with the existing order.

Its book can be kept in a JSON file (``state_file``) so that separate CLI commands
share one paper account; the file is locked while it is read and written.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.brokers.base import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    Execution,
    OrderListener,
    OrderRequest,
)
from ordergate.clock import Clock, SystemClock
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import BrokerRejected
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.positions import Position
from ordergate.sim.fees import FeeModel, PerShareFee
from ordergate.sim.fills import FixedBps, PriceModel, marketable_price, stop_triggered


@dataclass(slots=True)
class _PaperOrder:
    request: OrderRequest
    broker_order_id: str
    status: OrderStatus
    executions: list[Execution] = field(default_factory=list)
    triggered: bool = False
    reason: str = ""
    ts: datetime | None = None

    @property
    def filled_qty(self) -> Decimal:
        return sum((e.last_qty for e in self.executions), ZERO)

    def view(self) -> BrokerOrder:
        filled = self.filled_qty
        avg = (
            sum((e.last_qty * e.last_px for e in self.executions), ZERO) / filled
            if filled
            else None
        )
        return BrokerOrder(
            client_order_id=self.request.client_order_id,
            broker_order_id=self.broker_order_id,
            status=self.status,
            symbol=self.request.symbol,
            side=self.request.side,
            qty=self.request.qty,
            filled_qty=filled,
            avg_price=avg,
            executions=tuple(self.executions),
            reason=self.reason,
            ts=self.ts,
        )


class PaperBroker:
    """A simulated broker in this process. Implements ``BrokerAdapter`` and ``MarketDataSink``."""

    adapter_id = "paper"
    dedupes_client_order_id = True

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        price_model: PriceModel | None = None,
        fee_model: FeeModel | None = None,
        starting_cash: Decimal = Decimal(1_000_000),
        tradable: frozenset[str] | None = None,
        state_file: str | Path | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._price = price_model or FixedBps()
        self._fees = fee_model or PerShareFee()
        self._starting_cash = starting_cash
        self._tradable = tradable
        self._state_file = Path(state_file) if state_file else None
        self._listeners: list[OrderListener] = []
        self._orders: dict[str, _PaperOrder] = {}
        self._marks: dict[str, Mark] = {}
        self._ids = itertools.count(1)
        self._exec_seq = itertools.count(1)
        self._state_mtime: float | None = None

    # ------------------------------------------------------------- the port

    def subscribe(self, listener: OrderListener) -> None:
        self._listeners.append(listener)

    def submit(self, request: OrderRequest) -> BrokerOrder:
        with self._persisted():
            existing = self._orders.get(request.client_order_id)
            if existing is not None:
                return existing.view()
            if self._tradable is not None and request.symbol not in self._tradable:
                raise BrokerRejected(f"symbol {request.symbol} is not tradable at this broker")
            order = _PaperOrder(
                request=request,
                broker_order_id=f"P{next(self._ids)}",
                status=OrderStatus.ACCEPTED,
                ts=self._clock.now(),
            )
            mark = self._marks.get(request.symbol)
            if mark is None and request.order_type is OrderType.MARKET:
                raise BrokerRejected(f"no market price for {request.symbol}: mark it first")
            self._orders[request.client_order_id] = order
            if mark is not None:
                self._match(order, mark)
            if order.status is OrderStatus.ACCEPTED and request.time_in_force in (
                TimeInForce.IOC,
                TimeInForce.FOK,
            ):
                order.status = OrderStatus.CANCELED
                order.reason = f"{request.time_in_force}: nothing marketable"
            return order.view()

    def cancel(self, client_order_id: str) -> BrokerOrder:
        with self._persisted():
            order = self._orders.get(client_order_id)
            if order is None:
                raise BrokerRejected(f"unknown order {client_order_id}")
            if order.status.is_open:
                order.status = OrderStatus.CANCELED
                order.reason = "canceled"
                order.ts = self._clock.now()
            return order.view()

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        self._reload()
        order = self._orders.get(client_order_id)
        return None if order is None else order.view()

    def fetch_open_orders(self) -> list[BrokerOrder]:
        self._reload()
        return [o.view() for o in self._orders.values() if o.status.is_open]

    def fetch_positions(self) -> list[BrokerPosition]:
        self._reload()
        books: dict[tuple[str, str], Position] = {}
        for order in self._orders.values():
            req = order.request
            key = (req.account_id, req.symbol)
            position = books.setdefault(key, Position(account_id=req.account_id, symbol=req.symbol))
            for execution in order.executions:
                position.apply_fill(req.side, execution.last_qty, execution.last_px, ZERO)
        return [
            BrokerPosition(symbol=p.symbol, qty=p.qty, avg_price=p.avg_price, account_id=p.account_id)
            for p in books.values()
            if p.qty != 0
        ]

    def fetch_account(self) -> BrokerAccount:
        self._reload()
        cash = self._starting_cash
        for order in self._orders.values():
            for execution in order.executions:
                flow = execution.last_qty * execution.last_px * order.request.side.sign
                cash -= flow + execution.commission
        equity = cash
        for position in self.fetch_positions():
            mark = self._marks.get(position.symbol)
            equity += position.qty * (mark.last if mark else position.avg_price)
        return BrokerAccount(account_id="paper", cash=cash, equity=equity, buying_power=cash)

    # ----------------------------------------------------------- the market

    def on_mark(self, mark: Mark) -> None:
        """A new price: record it and fill every resting order it makes marketable."""
        changed: list[BrokerOrder] = []
        with self._persisted():
            self._marks[mark.symbol] = mark
            for order in self._orders.values():
                if order.status.is_open and order.request.symbol == mark.symbol:
                    before = len(order.executions)
                    self._match(order, mark)
                    if len(order.executions) != before:
                        changed.append(order.view())
        for view in changed:
            for listener in self._listeners:
                listener(view)

    def _match(self, order: _PaperOrder, mark: Mark) -> None:
        req = order.request
        if req.stop_price is not None and not order.triggered:
            if not stop_triggered(req.side, req.stop_price, mark):
                return
            order.triggered = True
        market = self._price.market_price(req.side, mark)  # a gap through a stop fills here
        price = marketable_price(req.side, req.order_type, req.limit_price, market)
        if price is None:
            return
        qty = req.qty - order.filled_qty
        if qty <= 0:
            return
        now = self._clock.now()
        execution = Execution(
            exec_id=f"{order.broker_order_id}-E{next(self._exec_seq)}",
            last_qty=qty,
            last_px=price,
            commission=self._fees.commission(req.side, qty, price),
            ts=now,
            liquidity="T" if req.order_type in (OrderType.MARKET, OrderType.STOP) else "M",
        )
        order.executions.append(execution)
        order.status = OrderStatus.FILLED
        order.ts = now

    # -------------------------------------------------------- persistence

    @contextlib.contextmanager
    def _persisted(self) -> Iterator[None]:
        if self._state_file is None:
            yield
            return
        lock_path = self._state_file.with_suffix(self._state_file.suffix + ".lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._reload(locked=True)
                yield
                self._save()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _reload(self, *, locked: bool = False) -> None:
        path = self._state_file
        if path is None or not path.exists():
            return
        mtime = path.stat().st_mtime_ns
        if mtime == self._state_mtime:
            return
        data = json.loads(path.read_text())
        self._orders = {k: _order_from_json(v) for k, v in data["orders"].items()}
        self._marks = {k: _mark_from_json(v) for k, v in data["marks"].items()}
        self._ids = itertools.count(int(data["next_id"]))
        self._exec_seq = itertools.count(int(data["next_exec"]))
        self._state_mtime = mtime

    def _save(self) -> None:
        path = self._state_file
        if path is None:
            return
        next_id, next_exec = next(self._ids), next(self._exec_seq)
        self._ids = itertools.count(next_id)
        self._exec_seq = itertools.count(next_exec)
        data = {
            "orders": {k: _order_to_json(v) for k, v in self._orders.items()},
            "marks": {k: v.to_dict() for k, v in self._marks.items()},
            "next_id": next_id,
            "next_exec": next_exec,
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
        self._state_mtime = path.stat().st_mtime_ns


def _order_to_json(order: _PaperOrder) -> dict[str, Any]:
    return {
        "request": order.request.to_dict(),
        "broker_order_id": order.broker_order_id,
        "status": order.status.value,
        "triggered": order.triggered,
        "reason": order.reason,
        "ts": None if order.ts is None else order.ts.isoformat(),
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


def _opt_dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _order_from_json(data: dict[str, Any]) -> _PaperOrder:
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
        expire_at=None if r["expire_at"] is None else datetime.fromisoformat(r["expire_at"]),
        parent_client_order_id=r.get("parent_client_order_id"),
        oco_group=r.get("oco_group"),
    )
    return _PaperOrder(
        request=request,
        broker_order_id=data["broker_order_id"],
        status=OrderStatus(data["status"]),
        triggered=data["triggered"],
        reason=data["reason"],
        ts=None if data["ts"] is None else datetime.fromisoformat(data["ts"]),
        executions=[
            Execution(
                exec_id=e["exec_id"],
                last_qty=Decimal(e["last_qty"]),
                last_px=Decimal(e["last_px"]),
                commission=Decimal(e["commission"]),
                ts=datetime.fromisoformat(e["ts"]),
                liquidity=e["liquidity"],
            )
            for e in data["executions"]
        ],
    )


def _mark_from_json(data: dict[str, Any]) -> Mark:
    return Mark(
        symbol=data["symbol"],
        last=Decimal(data["last"]),
        bid=_opt_dec(data["bid"]),
        ask=_opt_dec(data["ask"]),
        volume=_opt_dec(data["volume"]),
        ts=datetime.fromisoformat(data["ts"]),
    )

