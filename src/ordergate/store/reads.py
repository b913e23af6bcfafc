"""The store's reads, written once for every SQL backend.

The statements use ``?`` placeholders; a backend runs them through its ``_query``
(PostgreSQL turns ``?`` into ``%s``). Rows map to domain objects through
:mod:`ordergate.store.rows`, which accepts text or native values alike, so the same
method serves SQLite (Decimals and times stored as text) and PostgreSQL (NUMERIC,
TIMESTAMPTZ).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ordergate.domain.enums import OrderStatus
from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.order import Order
from ordergate.domain.positions import Position
from ordergate.store.base import (
    DailyPnl,
    OrderQuery,
    OutboxMessage,
    StoredControl,
    StoredEvent,
    StoredFill,
    StoredKillSwitch,
)
from ordergate.store.rows import (
    FILL_COLUMNS,
    ORDER_COLUMNS,
    fill_from_row,
    mark_from_row,
    order_from_row,
    position_from_row,
    ts_parse,
)

ORDER_SELECT = f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders"
FILL_SELECT = f"SELECT {', '.join(FILL_COLUMNS)} FROM fills"
POSITION_SELECT = (
    "SELECT account_id, symbol, qty, avg_price, realized_gross, commission FROM positions"
)
OPEN_STATUSES = ("PENDING", "SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED", "PENDING_CANCEL")
#: Written out, not bound: only a literal list lets SQLite use the partial index
#: ``orders_open`` (a bound parameter cannot prove the index's WHERE).
IS_OPEN = f"status IN ({', '.join(repr(s) for s in OPEN_STATUSES)})"


def fold_daily_pnl(rows: Iterable[Sequence[Any]]) -> list[DailyPnl]:
    """Fold fills, given as ``(trading_day, strategy_id, realized_gross, commission)``
    rows (text or Decimal), into one :class:`DailyPnl` per day and strategy, ordered
    by both — the sum every backend without SQL aggregation makes the same way."""
    totals: dict[tuple[str, str], list[Any]] = {}
    for day, strategy, gross, commission in rows:
        entry = totals.setdefault((day, strategy), [Decimal(0), Decimal(0), 0])
        entry[0] += Decimal(gross)
        entry[1] += Decimal(commission)
        entry[2] += 1
    return [
        DailyPnl(day, strategy, gross, commission, count)
        for (day, strategy), (gross, commission, count) in sorted(totals.items())
    ]


#: Every status an order can have: a filter made of these alone is written out (below).
_STATUSES = frozenset(status.value for status in OrderStatus)


def _status_in(statuses: Sequence[str], params: list[Any]) -> str:
    """``status IN (...)``: written out, sorted, when every status is one of ours — so a
    partial index on those statuses serves it (``orders_ended_early``: the tracker asks
    for canceled and expired orders ten times a second, and bound parameters made that
    a scan of every order, the store's lock held: 3.8 ms at 4,100 orders, growing with
    the table) — and bound otherwise (a caller's text is never written into SQL)."""
    if _STATUSES.issuperset(statuses):
        return f"status IN ({', '.join(repr(s) for s in sorted(set(statuses)))})"
    params.extend(statuses)
    return f"status IN ({', '.join('?' * len(statuses))})"


class SqlReads(ABC):
    """Every read of :class:`~ordergate.store.base.Store` that is the same SQL on each
    backend; a backend provides :meth:`_query`."""

    @abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one ``?``-placeholder statement outside a unit of work; return its rows."""

    def get_order(self, order_id: str) -> Order | None:
        rows = self._query(f"{ORDER_SELECT} WHERE order_id = ?", (order_id,))
        return order_from_row(rows[0]) if rows else None

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        rows = self._query(f"{ORDER_SELECT} WHERE client_order_id = ?", (client_order_id,))
        return order_from_row(rows[0]) if rows else None

    def list_orders(self, query: OrderQuery) -> list[Order]:
        where: list[str] = []
        params: list[Any] = []
        if query.status:
            where.append(_status_in(query.status, params))
        for column in ("symbol", "strategy_id", "account_id"):
            value = getattr(query, column)
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"{ORDER_SELECT}{clause} ORDER BY order_id DESC LIMIT ? OFFSET ?"
        params.extend((query.limit, query.offset))
        return [order_from_row(row) for row in self._query(sql, params)]

    def open_orders(self) -> list[Order]:
        sql = f"{ORDER_SELECT} WHERE {IS_OPEN} ORDER BY created_at, order_id"
        return [order_from_row(row) for row in self._query(sql)]

    def fills_for(self, order_id: str) -> list[Fill]:
        rows = self._query(
            f"{FILL_SELECT} WHERE order_id = ? AND busted = 0 ORDER BY fill_id", (order_id,)
        )
        return [fill_from_row(row) for row in rows]

    def events_for(self, order_id: str) -> list[StoredEvent]:
        rows = self._query(
            "SELECT seq, order_id, topic, from_status, to_status, payload, ts FROM order_events "
            "WHERE order_id = ? ORDER BY seq",
            (order_id,),
        )
        return [
            StoredEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), ts_parse(r[6]))
            for r in rows
        ]

    def positions(self, account_id: str | None = None) -> list[Position]:
        if account_id is None:
            rows = self._query(f"{POSITION_SELECT} ORDER BY account_id, symbol")
        else:
            rows = self._query(
                f"{POSITION_SELECT} WHERE account_id = ? ORDER BY symbol", (account_id,)
            )
        return [position_from_row(row) for row in rows]

    def marks(self) -> dict[str, Mark]:
        rows = self._query("SELECT symbol, last, bid, ask, volume, ts, seq FROM marks")
        return {row[0]: mark_from_row(row) for row in rows}

    def intent_payload(self, order_id: str) -> str | None:
        rows = self._query(
            "SELECT i.payload FROM intents i JOIN orders o ON o.account_id = i.account_id "
            "AND o.idempotency_key = i.idempotency_key WHERE o.order_id = ?",
            (order_id,),
        )
        return str(rows[0][0]) if rows else None

    def receipts_for(self, order_id: str) -> list[str]:
        rows = self._query(
            "SELECT raw FROM broker_receipts WHERE order_id = ? ORDER BY id", (order_id,)
        )
        return [str(r[0]) for r in rows]

    def fills_since(self, trading_day: str) -> list[StoredFill]:
        rows = self._query(
            "SELECT f.account_id, f.strategy_id, f.symbol, f.order_id, f.exec_id, "
            "f.realized_gross, f.commission, f.trading_day, f.ts, o.parent_order_id "
            "FROM fills f LEFT JOIN orders o ON o.order_id = f.order_id "
            "WHERE f.trading_day >= ? ORDER BY f.fill_id",
            (trading_day,),
        )
        return [
            StoredFill(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                Decimal(r[5]),
                Decimal(r[6]),
                r[7],
                ts_parse(r[8]),
                r[9],
            )
            for r in rows
        ]

    def kill_switches(self) -> list[StoredKillSwitch]:
        rows = self._query(
            "SELECT kind, target, state, reason, actor, updated_at FROM kill_switches "
            "ORDER BY kind, target"
        )
        return [StoredKillSwitch(r[0], r[1], r[2], r[3], r[4], ts_parse(r[5])) for r in rows]

    def trading_controls(self) -> list[StoredControl]:
        rows = self._query(
            "SELECT name, value, actor, reason, updated_at FROM trading_controls ORDER BY name"
        )
        return [StoredControl(r[0], r[1], r[2], r[3], ts_parse(r[4])) for r in rows]

    def outbox_after(self, last_id: int, limit: int) -> list[OutboxMessage]:
        rows = self._query(
            "SELECT id, topic, key, payload, created_at FROM outbox "
            "WHERE id > ? ORDER BY id LIMIT ?",
            (last_id, limit),
        )
        return [OutboxMessage(r[0], r[1], r[2], r[3], ts_parse(r[4])) for r in rows]

    def outbox_cursor(self, consumer: str) -> int:
        rows = self._query("SELECT last_id FROM outbox_cursors WHERE consumer = ?", (consumer,))
        return int(rows[0][0]) if rows else 0
