"""The PostgreSQL store: several engine processes, on several hosts, on one database.

Built on psycopg 3 and its connection pool (the ``postgres`` extra). A unit of work is
one transaction on one pooled connection, at READ COMMITTED, with the locks that make
it safe beside other processes:

- a step that re-reads an order takes its row lock (``SELECT … FOR UPDATE``), so two
  processes never apply changes to one order at once; the version check stays as the
  last guard;
- reading a position takes a transaction-scoped advisory lock on (account, symbol), so
  two fills of one instrument booked by two processes never lose an update (a row lock
  cannot guard a position row that does not exist yet);
- a second insert of the same idempotency key waits for the first transaction and then
  fails with :class:`DuplicateKey`, which the engine answers by reading the winner's
  order.

Events (the event log, which is also the outbox) extend one hash chain (see
``ordergate.obs.chain``): a unit of work takes a transaction-scoped advisory lock, reads
the chain's head and writes the next ``seq`` numbers, and holds the lock until it
commits. So ``seq`` order is commit order, and a relay's cursor never passes an event
that commits later — at the price of one writer at a time for that last stretch of a
unit of work (bench/bench_postgres.py measures what it costs).

Every driver error leaves this module as :class:`PersistenceError` (unique violations
as :class:`DuplicateKey`), with the driver's exception chained.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool

from ordergate.domain.errors import PersistenceError
from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.money import fmt
from ordergate.domain.order import Order
from ordergate.domain.positions import Position
from ordergate.store.base import (
    DailyPnl,
    DuplicateKey,
    EventRecord,
    OrderQuery,
    OutboxMessage,
    StoredEvent,
    StoredIntent,
)
from ordergate.obs.chain import chain_rows
from ordergate.store.migrate import apply_migrations
from ordergate.store.rows import (
    FILL_COLUMNS,
    ORDER_COLUMNS,
    ORDER_MUTABLE,
    fill_from_row,
    mark_from_row,
    mark_values,
    order_from_row,
    order_update_values,
    order_values,
    position_from_row,
    position_values,
    ts_parse,
)

_ORDER_SELECT = f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders"
_ORDER_INSERT = (
    f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}, intent_id) "
    f"VALUES ({', '.join(['%s'] * (len(ORDER_COLUMNS) + 1))})"
)
_ORDER_UPDATE = (
    f"UPDATE orders SET {', '.join(f'{c} = %s' for c in ORDER_MUTABLE)} "
    "WHERE order_id = %s AND version = %s"
)
_FILL_SELECT = f"SELECT {', '.join(FILL_COLUMNS)} FROM fills"
_POSITION_SELECT = (
    "SELECT account_id, symbol, qty, avg_price, realized_gross, commission FROM positions"
)
_OPEN = ["PENDING", "SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED", "PENDING_CANCEL"]
#: Advisory locks are per database; keying them by schema keeps two stores apart.
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || %s, 0))"
#: The chain's head, ``(seq, hash)``: the newest among live events, pruned events'
#: stubs and anchors (retention may have removed the newest events).
_CHAIN_HEAD = (
    "SELECT seq, hash FROM ("
    "(SELECT seq, hash FROM order_events ORDER BY seq DESC LIMIT 1) UNION ALL "
    "(SELECT seq, hash FROM audit_pruned ORDER BY seq DESC LIMIT 1) UNION ALL "
    "(SELECT seq, hash FROM audit_anchors ORDER BY seq DESC LIMIT 1)"
    ") AS heads ORDER BY seq DESC LIMIT 1"
)


def translate(exc: psycopg.Error) -> PersistenceError:
    """Map a driver error to ours: unique violations to DuplicateKey, the rest generic."""
    if isinstance(exc, pg_errors.UniqueViolation):
        return DuplicateKey(f"duplicate key: {exc}")
    return PersistenceError(f"the PostgreSQL store failed: {type(exc).__name__}: {exc}")


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise translate(exc) from exc


class PostgresUnitOfWork:
    """One transaction on one pooled connection."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._c = conn

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
        rows = self._all(f"{_ORDER_SELECT} WHERE {where} = %s FOR UPDATE", (value,))
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

    def record_events(self, events: Sequence[EventRecord]) -> None:
        """Extend the hash chain with ``events`` under the event-log lock (see module)."""
        if not events:
            return
        self._all(_LOCK, (".event_log",))
        rows = chain_rows(next(iter(self._all(_CHAIN_HEAD)), None), events)
        if rows:
            with _translated():
                self._c.cursor().executemany(
                    "INSERT INTO order_events (seq, order_id, topic, from_status, to_status, "
                    "payload, ts, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
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
            "INSERT INTO fills (order_id, exec_id, account_id, strategy_id, symbol, side, "
            "last_qty, last_px, commission, realized_gross, liquidity, late, trading_day, ts) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
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
                fill.ts,
            ),
        )

    def get_position(self, account_id: str, symbol: str) -> Position:
        """Read the position under a lock on (account, symbol) held until commit."""
        self._all(_LOCK, (f".position\x1f{account_id}\x1f{symbol}",))
        rows = self._all(
            f"{_POSITION_SELECT} WHERE account_id = %s AND symbol = %s", (account_id, symbol)
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


class PostgresStore:
    """The PostgreSQL backend of :class:`~ordergate.store.base.Store`.

    ``url`` is a libpq URL; a ``?options=-csearch_path%3Dname`` part (or ``schema=``)
    puts the tables in their own schema, which is how tests isolate themselves.
    """

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 8,
        schema: str | None = None,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self.schema = schema
        try:
            self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
                url,
                min_size=min_size,
                max_size=max_size,
                kwargs={"autocommit": True},
                configure=self._configure,
                timeout=connect_timeout_s,
                open=False,
                name="ordergate",
            )
            self._pool.open(wait=True, timeout=connect_timeout_s)
        except psycopg.Error as exc:
            raise PersistenceError(
                f"cannot reach the PostgreSQL store at {_safe(url)}: {exc}"
            ) from exc

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Every session in UTC, and in the store's schema when it has one."""
        conn.execute("SET TIME ZONE 'UTC'")
        if self.schema:
            conn.execute("SELECT set_config('search_path', %s, false)", (self.schema,))

    # ------------------------------------------------------------------ admin

    def migrate(self) -> None:
        """Apply pending migrations on a dedicated autocommit connection, as yoyo expects."""
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                self._configure(conn)
                apply_migrations(conn, "postgresql", self.url)
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def transaction(self) -> Iterator[PostgresUnitOfWork]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield PostgresUnitOfWork(conn)
        except psycopg.Error as exc:
            raise translate(exc) from exc

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled autocommit connection, for this package's other SQL (leases)."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def _read(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        with self.connection() as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except psycopg.Error as exc:
                raise translate(exc) from exc

    # ------------------------------------------------------------------ reads

    def get_order(self, order_id: str) -> Order | None:
        rows = self._read(f"{_ORDER_SELECT} WHERE order_id = %s", (order_id,))
        return order_from_row(rows[0]) if rows else None

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        rows = self._read(f"{_ORDER_SELECT} WHERE client_order_id = %s", (client_order_id,))
        return order_from_row(rows[0]) if rows else None

    def list_orders(self, query: OrderQuery) -> list[Order]:
        where: list[str] = []
        params: list[Any] = []
        if query.status:
            where.append("status = ANY(%s)")
            params.append(list(query.status))
        for column in ("symbol", "strategy_id", "account_id"):
            value = getattr(query, column)
            if value:
                where.append(f"{column} = %s")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"{_ORDER_SELECT}{clause} ORDER BY order_id DESC LIMIT %s OFFSET %s"
        params.extend((query.limit, query.offset))
        return [order_from_row(row) for row in self._read(sql, params)]

    def open_orders(self) -> list[Order]:
        sql = f"{_ORDER_SELECT} WHERE status = ANY(%s) ORDER BY created_at, order_id"
        return [order_from_row(row) for row in self._read(sql, (_OPEN,))]

    def fills_for(self, order_id: str) -> list[Fill]:
        rows = self._read(f"{_FILL_SELECT} WHERE order_id = %s ORDER BY fill_id", (order_id,))
        return [fill_from_row(row) for row in rows]

    def events_for(self, order_id: str) -> list[StoredEvent]:
        rows = self._read(
            "SELECT seq, order_id, topic, from_status, to_status, payload, ts FROM order_events "
            "WHERE order_id = %s ORDER BY seq",
            (order_id,),
        )
        return [
            StoredEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), ts_parse(r[6]))
            for r in rows
        ]

    def positions(self, account_id: str | None = None) -> list[Position]:
        if account_id is None:
            rows = self._read(f"{_POSITION_SELECT} ORDER BY account_id, symbol")
        else:
            rows = self._read(
                f"{_POSITION_SELECT} WHERE account_id = %s ORDER BY symbol", (account_id,)
            )
        return [position_from_row(row) for row in rows]

    def marks(self) -> dict[str, Mark]:
        rows = self._read("SELECT symbol, last, bid, ask, volume, ts FROM marks")
        return {row[0]: mark_from_row(row) for row in rows}

    def daily_pnl(self, account_id: str | None = None) -> list[DailyPnl]:
        sql = (
            "SELECT trading_day, strategy_id, SUM(realized_gross), SUM(commission), COUNT(*) "
            "FROM fills {where} GROUP BY trading_day, strategy_id ORDER BY trading_day, strategy_id"
        )
        if account_id is None:
            rows = self._read(sql.format(where=""))
        else:
            rows = self._read(sql.format(where="WHERE account_id = %s"), (account_id,))
        return [DailyPnl(r[0], r[1], Decimal(r[2]), Decimal(r[3]), int(r[4])) for r in rows]

    def intent_payload(self, order_id: str) -> str | None:
        rows = self._read(
            "SELECT payload FROM intents WHERE order_id = %s",
            (order_id,),
        )
        return str(rows[0][0]) if rows else None

    def outbox_after(self, last_id: int, limit: int) -> list[OutboxMessage]:
        rows = self._read(
            "SELECT id, topic, key, payload, created_at FROM outbox "
            "WHERE id > %s ORDER BY id LIMIT %s",
            (last_id, limit),
        )
        return [OutboxMessage(r[0], r[1], r[2], r[3], ts_parse(r[4])) for r in rows]

    def outbox_cursor(self, consumer: str) -> int:
        rows = self._read("SELECT last_id FROM outbox_cursors WHERE consumer = %s", (consumer,))
        return int(rows[0][0]) if rows else 0

    def set_outbox_cursor(self, consumer: str, last_id: int) -> None:
        """Move the cursor forward (never back: two relays may race)."""
        with self.connection() as conn:
            try:
                conn.execute(
                    "INSERT INTO outbox_cursors (consumer, last_id) VALUES (%s, %s) "
                    "ON CONFLICT (consumer) DO UPDATE "
                    "SET last_id = GREATEST(outbox_cursors.last_id, excluded.last_id)",
                    (consumer, last_id),
                )
            except psycopg.Error as exc:
                raise translate(exc) from exc


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
