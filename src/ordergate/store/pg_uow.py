"""The unit of work of the PostgreSQL store: one transaction on one pooled connection.

See :mod:`ordergate.store.postgres` for the locks it takes and why. One lock order
everywhere: an order's position lock (account, symbol), then the order's row. A step
that books a receipt reads the position before it writes the order row, so a step
that reads an order first takes that order's position lock before its row lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
import structlog
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from ordergate.domain.errors import PersistenceError
from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.order import Order
from ordergate.domain.positions import Position
from ordergate.store.amendments import (
    AMEND_FILL,
    BOOKED_FILL,
    POSITION_FILLS,
    amend_values,
    booked_from_row,
)
from ordergate.store.base import BookedFill, DuplicateKey, EventRecord, StaleOrder, StoredIntent
from ordergate.store.chain import PG_HEAD, chain_rows
from ordergate.store.reads import IS_OPEN, ORDER_SELECT, POSITION_SELECT
from ordergate.store.rows import (
    FILL_INSERT,
    MARK_UPSERT,
    ORDER_COLUMNS,
    ORDER_MUTABLE,
    fill_from_row,
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
    f"UPDATE orders SET {', '.join(f'{c} = %s' for c in ORDER_MUTABLE)}, "
    "db_touched_at = clock_timestamp() WHERE order_id = %s AND version = %s"
)
#: Advisory locks are per database; keying them by schema keeps two stores apart.
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || %s, 0))"
#: The position lock of the order(s) a step is about to read (see the module docstring).
_POSITION_KEY = "'.position' || chr(31) || account_id || chr(31) || symbol"
_LOCK_POSITION_OF = (
    f"SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || {_POSITION_KEY}, 0)) "
    "FROM orders WHERE {where} = %s"
)
#: Held (shared) by a replay, (exclusively, on a session) by a process sending the order.
SENDING_KEY = "hashtextextended(current_schema() || '.sending' || chr(31) || %s, 0)"


#: What a trader is told, by SQLSTATE class or code. The server's own text (backend
#: PIDs, lock and transaction ids, SQL) stays in the chained exception and the log.
_SAID_BY_CODE = {
    "40P01": "a deadlock with another unit of work; this step was rolled back",
    "40001": "a conflict with a concurrent unit of work; this step was rolled back",
    "55P03": "a lock was held too long by another unit of work; this step was rolled back",
    "57014": "the statement was canceled (timeout); this step was rolled back",
    "57P01": "the database server ended the connection; this step was rolled back",
    "57P02": "the database server ended the connection; this step was rolled back",
    "57P03": "the database server is starting or stopping; try again shortly",
    "53300": "the database has no free connections; try again shortly",
}
_SAID_BY_CLASS = {
    "08": "the connection to the database was lost; this step was not recorded",
    "53": "the database is out of resources (disk, memory or connections)",
    "57": "the database server stopped this step; it was rolled back",
    "40": "a conflict with a concurrent unit of work; this step was rolled back",
}
log = structlog.get_logger("ordergate.store.postgres")


def translate(exc: psycopg.Error) -> PersistenceError:
    """Map a driver error to ours: unique violations to DuplicateKey, the rest generic.

    The message names the failure by its SQLSTATE and what it means for the step,
    never with the server's text: that can carry backend PIDs, lock ids and SQL,
    and our message reaches HTTP answers. The driver's exception stays chained (and
    logged here) for the operator.
    """
    state = exc.sqlstate or ""
    if isinstance(exc, pg_errors.UniqueViolation):
        constraint = getattr(exc.diag, "constraint_name", None) or "a unique key"
        return DuplicateKey(f"duplicate key ({constraint})", context={"sqlstate": state})
    said = _SAID_BY_CODE.get(state) or _SAID_BY_CLASS.get(state[:2])
    if isinstance(exc, PoolTimeout):
        said = "no database connection was free in time; try again shortly"
    if said is None:
        said = (
            "the connection to the database was lost; this step was not recorded"
            if isinstance(exc, psycopg.OperationalError)
            else f"the database refused this step ({type(exc).__name__})"
        )
    log.warning("postgresql error", sqlstate=state, kind=type(exc).__name__, detail=str(exc))
    suffix = f" [SQLSTATE {state}]" if state else ""
    return PersistenceError(
        f"the PostgreSQL store failed: {said}{suffix}", context={"sqlstate": state}
    )


@contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise translate(exc) from exc


class PostgresUnitOfWork:
    """One transaction on one pooled connection."""

    def __init__(
        self, conn: psycopg.Connection[Any], key: bytes | None = None, *, replay_wait_ms: int = 0
    ) -> None:
        self._c = conn
        self._key = key  # the audit key (None: a plain sha256 chain)
        #: the chain's head after this unit's events, to checkpoint once it commits
        self.head_written: tuple[int, str] | None = None
        #: how long a replay waits for another process's send of the order to settle
        self.replay_wait_ms = replay_wait_ms

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
        """The order, row-locked, after its position lock (one lock order: see module)."""
        self._all(_LOCK_POSITION_OF.format(where=where), (value,))
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
        self._await_send(str(row[6]))
        return StoredIntent(row[0], row[1], row[2], row[3], row[4], ts_parse(row[5]), row[6])

    def _await_send(self, order_id: str) -> None:
        """A replay waits while another process is sending this order (see
        ``pg_leases.PostgresLeases.begin_send``), up to ``replay_wait_ms``: it then
        answers the order as the send left it, not a snapshot taken mid-flight. After the
        wait it goes on (the order still ``SUBMITTED``: sent, no answer recorded yet)."""
        if self.replay_wait_ms <= 0:
            return
        try:
            with self._c.transaction():  # a savepoint: a lock timeout undoes only the wait
                self._c.execute(f"SET LOCAL lock_timeout = {int(self.replay_wait_ms)}")
                self._c.execute(f"SELECT pg_advisory_xact_lock_shared({SENDING_KEY})", (order_id,))
                self._c.execute("SET LOCAL lock_timeout TO DEFAULT")
        except pg_errors.LockNotAvailable:
            log.info("replay answered while the order is still being sent", order_id=order_id)
        except psycopg.Error as exc:
            raise translate(exc) from exc

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
            raise StaleOrder(
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

    def booked_fill(self, order_id: str, exec_id: str) -> BookedFill | None:
        rows = self._all(BOOKED_FILL.replace("?", "%s"), (order_id, exec_id))
        return booked_from_row(rows[0]) if rows else None

    def position_fills(self, account_id: str, symbol: str) -> list[Fill]:
        rows = self._all(POSITION_FILLS.replace("?", "%s"), (account_id, symbol))
        return [fill_from_row(row) for row in rows]

    def amend_fill(
        self, before: Fill, after: Fill | None, realized_gross: Decimal, amend_id: str
    ) -> None:
        values = amend_values(before, after, realized_gross, amend_id)
        self._run(AMEND_FILL.replace("?", "%s"), values)

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
            "INSERT INTO marks (symbol, last, bid, ask, volume, ts, seq) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) " + MARK_UPSERT,
            mark_values(mark),
        )
