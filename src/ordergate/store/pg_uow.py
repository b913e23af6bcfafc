"""The unit of work of the PostgreSQL store: one transaction on one pooled connection.

See :mod:`ordergate.store.postgres` for the locks it takes and why.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from ordergate.domain.errors import PersistenceError
from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.order import Order
from ordergate.domain.positions import Position
from ordergate.store.base import DuplicateKey, EventRecord, StoredIntent
from ordergate.store.chain import PG_HEAD, chain_rows
from ordergate.store.reads import IS_OPEN, ORDER_SELECT, POSITION_SELECT
from ordergate.store.rows import (
    FILL_INSERT,
    ORDER_COLUMNS,
    ORDER_MUTABLE,
    fill_values,
    mark_values,
    order_from_row,
    order_update_values,
    order_values,
    position_from_row,
    position_values,
    ts_parse,
)

_ORDER_INSERT = (
    f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}, intent_id) "
    f"VALUES ({', '.join(['%s'] * (len(ORDER_COLUMNS) + 1))})"
)
_ORDER_UPDATE = (
    f"UPDATE orders SET {', '.join(f'{c} = %s' for c in ORDER_MUTABLE)} "
    "WHERE order_id = %s AND version = %s"
)
#: Advisory locks are per database; keying them by schema keeps two stores apart.
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || %s, 0))"


def translate(exc: psycopg.Error) -> PersistenceError:
    """Map a driver error to ours: unique violations to DuplicateKey, the rest generic."""
    if isinstance(exc, pg_errors.UniqueViolation):
        return DuplicateKey(f"duplicate key: {exc}")
    return PersistenceError(f"the PostgreSQL store failed: {type(exc).__name__}: {exc}")


@contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise translate(exc) from exc


class PostgresUnitOfWork:
    """One transaction on one pooled connection."""

    def __init__(self, conn: psycopg.Connection[Any], key: bytes | None = None) -> None:
        self._c = conn
        self._key = key  # the audit key (None: a plain sha256 chain)
        #: the chain's head after this unit's events, to checkpoint once it commits
        self.head_written: tuple[int, str] | None = None

    def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        try:
            return self._c.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def _run(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> int:
        try:
            return self._c.execute(sql, params).rowcount
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def _order(self, where: str, value: str) -> Order | None:
        rows = self._all(f"{ORDER_SELECT} WHERE {where} = %s FOR UPDATE", (value,))
        return order_from_row(rows[0]) if rows else None

    def find_intent(self, account_id: str, idempotency_key: str) -> StoredIntent | None:
        rows = self._all(
            "SELECT intent_id, account_id, idempotency_key, payload_hash, payload, received_at, "
            "order_id FROM intents WHERE account_id = %s AND idempotency_key = %s",
            (account_id, idempotency_key),
        )
        if not rows:
            return None
        row = rows[0]
        return StoredIntent(row[0], row[1], row[2], row[3], row[4], ts_parse(row[5]), row[6])

    def insert_intent(self, intent: StoredIntent) -> None:
        self._run(
            "INSERT INTO intents (intent_id, account_id, idempotency_key, payload_hash, payload, "
            "received_at, order_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                intent.intent_id,
                intent.account_id,
                intent.idempotency_key,
                intent.payload_hash,
                intent.payload,
                intent.received_at,
                intent.order_id,
            ),
        )

    def insert_order(self, order: Order, intent_id: str) -> None:
        self._run(_ORDER_INSERT, (*order_values(order), intent_id))

    def update_order(self, order: Order, expected_version: int) -> None:
        count = self._run(
            _ORDER_UPDATE, (*order_update_values(order), order.order_id, expected_version)
        )
        if count != 1:
            raise PersistenceError(
                f"order {order.order_id} changed underneath this update "
                f"(expected version {expected_version})"
            )

    def get_order(self, order_id: str) -> Order | None:
        return self._order("order_id", order_id)

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        return self._order("client_order_id", client_order_id)

    def open_orders_for(self, account_id: str, symbol: str | None = None) -> list[Order]:
        if symbol is None:
            rows = self._all(f"{ORDER_SELECT} WHERE {IS_OPEN} AND account_id = %s", (account_id,))
        else:
            rows = self._all(
                f"{ORDER_SELECT} WHERE {IS_OPEN} AND account_id = %s AND symbol = %s",
                (account_id, symbol),
            )
        return [order_from_row(row) for row in rows]

    def record_events(self, events: Sequence[EventRecord]) -> None:
        """Extend the hash chain with ``events`` under the event-log lock (see module)."""
        if not events:
            return
        self._all(_LOCK, (".event_log",))
        rows = chain_rows(next(iter(self._all(PG_HEAD)), None), events, self._key)
        if rows:
            self.head_written = (int(rows[-1][0]), str(rows[-1][8]))
            with translated():
                self._c.cursor().executemany(
                    "INSERT INTO order_events (seq, order_id, topic, from_status, to_status, "
                    "payload, ts, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )

    def add_receipt(
        self, order_id: str, client_order_id: str, adapter: str, raw: str, ts: datetime
    ) -> None:
        self._run(
            "INSERT INTO broker_receipts (order_id, client_order_id, adapter, raw, received_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            (order_id, client_order_id, adapter, raw, ts),
        )

    def has_fill(self, order_id: str, exec_id: str) -> bool:
        rows = self._all(
            "SELECT 1 FROM fills WHERE order_id = %s AND exec_id = %s", (order_id, exec_id)
        )
        return bool(rows)

    def insert_fill(
        self,
        fill: Fill,
        account_id: str,
        strategy_id: str,
        realized_gross: Decimal,
        trading_day: str,
    ) -> None:
        self._run(
            FILL_INSERT.replace("?", "%s"),
            fill_values(fill, account_id, strategy_id, realized_gross, trading_day, fill.ts),
        )

    def get_position(self, account_id: str, symbol: str) -> Position:
        """Read the position under a lock on (account, symbol) held until commit."""
        self._all(_LOCK, (f".position\x1f{account_id}\x1f{symbol}",))
        rows = self._all(
            f"{POSITION_SELECT} WHERE account_id = %s AND symbol = %s", (account_id, symbol)
        )
        if not rows:
            return Position(account_id=account_id, symbol=symbol)
        return position_from_row(rows[0])

    def save_position(self, position: Position, ts: datetime) -> None:
        self._run(
            "INSERT INTO positions (account_id, symbol, qty, avg_price, realized_gross, "
            "commission, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (account_id, symbol) DO UPDATE SET qty = excluded.qty, "
            "avg_price = excluded.avg_price, realized_gross = excluded.realized_gross, "
            "commission = excluded.commission, updated_at = excluded.updated_at",
            position_values(position, ts),
        )

    def save_mark(self, mark: Mark) -> None:
        self._run(
            "INSERT INTO marks (symbol, last, bid, ask, volume, ts) "
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (symbol) DO UPDATE SET last = excluded.last, bid = excluded.bid, "
            "ask = excluded.ask, volume = excluded.volume, ts = excluded.ts",
            mark_values(mark),
        )
