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

Events (the event log, which is also the outbox) extend a hash chain (see
``ordergate.store.chain``), one per partition of the accounts (``chain_config``, one
unless configured: :meth:`PostgresStore.set_chain_partitions`): a unit of work takes the
partition's transaction-scoped advisory lock, reads (or believes) its head and writes the
next ``seq`` numbers of its range, and holds the lock until it commits. So within a
partition ``seq`` order is commit order, and a relay's cursor of that partition never
passes an event that commits later — at the price of one writer at a time per partition
for that last stretch of a unit of work (bench/bench_postgres.py measures what it costs).
Writers of accounts in different partitions never wait on each other's lock.

Lock order: a step that reads an order takes the position lock of that order's
(account, symbol) before the order's row lock; a receipt reads the position and then
writes the row. One order everywhere, so a broker update and a submit's receipt of
one instrument queue behind each other instead of deadlocking.

A version check that fails raises :class:`StaleOrder`, as every backend does: the
engine then applies the broker's answer again to the order as stored.

A connection the server has closed (a restart, ``pg_terminate_backend``) is found
out when a unit of work begins, before anything of it was done, and the unit of
work starts again on a fresh connection; one that breaks midway fails the step.

Every driver error leaves this module as :class:`PersistenceError` (unique violations
as :class:`DuplicateKey`), with the driver's exception chained; its message names
the SQLSTATE and never the server's text (see ``pg_uow.translate``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ordergate.domain.errors import ConfigError, PersistenceError
from ordergate.store.base import (
    DailyPnl,
    OutboxMessage,
    StoredControl,
    StoredKillSwitch,
)
from ordergate.store.chain import seq_range
from ordergate.store.chain_sources import PostgresChain, partitions
from ordergate.store.checkpoint import AuditTrail
from ordergate.store.migrate import apply_migrations
from ordergate.store.pg_chain_head import ChainHead, ChainHeads
from ordergate.store.pg_uow import (
    PostgresUnitOfWork,
    translate,
    translated,
)
from ordergate.store.reads import SqlReads
from ordergate.store.rows import ts_parse
from ordergate.store.seal import seal_chain

__all__ = ["PostgresStore", "PostgresUnitOfWork", "translate"]


class PostgresStore(SqlReads):
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
        synchronous_commit: bool = True,
        audit: AuditTrail | None = None,
        replay_wait_s: float = 5.0,
    ) -> None:
        """``audit``: the audit key and the head's checkpoint (``obs.keys.audit_trail``)."""
        self.audit = audit
        if url.startswith("postgresql+"):  # SQLAlchemy-style driver suffix: libpq wants none
            url = "postgresql://" + url.split("://", 1)[1]
        self.url = url
        self.schema = schema
        self.synchronous_commit = synchronous_commit
        #: a replay waits this long for another process's send of its order to settle
        self.replay_wait_s = replay_wait_s
        #: what else to close with the store (the leases' session connections)
        self._on_close: list[Callable[[], None]] = []
        self._incarnation: str | None = None
        #: this process's beliefs about the heads of the chain's partitions (``pg_chain_head``)
        self.chain_heads = ChainHeads()
        #: how many partitions the chain has (``chain_config``), read on first use
        self._partitions: int | None = None
        #: the fence's leases, when its claim rides in the accept (``pg_leases``)
        self.accept_claims: AcceptClaims | None = None
        #: pipelines (round trips) and statements the units of work sent (the bench's count)
        self.round_trips = 0
        self.statements = 0
        #: commits that held the event chain's lock, and how long they took in all
        self.chain_commits = 0
        self.chain_seconds = 0.0
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
        """Every session in UTC, and in the store's schema when it has one.

        ``synchronous_commit=False`` acknowledges a commit before its WAL reaches disk:
        a server crash may lose the last moments of commits (never consistency), like
        SQLite's ``synchronous=NORMAL``; several times faster on a slow disk.
        """
        conn.execute("SET TIME ZONE 'UTC'")
        if not self.synchronous_commit:
            conn.execute("SET synchronous_commit = off")
        if self.schema:
            conn.execute("SELECT set_config('search_path', %s, false)", (self.schema,))

    # ------------------------------------------------------------------ admin

    def migrate(self) -> None:
        """Apply pending migrations on a dedicated autocommit connection, as yoyo expects."""
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                self._configure(conn)
                apply_migrations(conn, "postgresql", self.url)
                if self.audit is not None:
                    seal_chain(PostgresChain(conn), self.audit.key)
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def open_session(self) -> psycopg.Connection[Any]:
        """A connection of its own, outside the pool, set up like the pool's (for
        session locks, which must stay on one connection); the caller closes it."""
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        self._configure(conn)
        return conn

    def incarnation(self) -> str | None:
        """The id this database got when its schema was created (see migration 0011_scaleout):
        the same after a dump and restore or on a replica, new when it is re-created."""
        if self._incarnation is None:
            rows = self._read("SELECT id FROM store_incarnation")
            self._incarnation = str(rows[0][0]) if rows else None
        return self._incarnation

    @property
    def chain_head(self) -> ChainHead:
        """The belief about partition 0's head (the whole chain's, unpartitioned)."""
        return self.chain_heads.of(0)

    def chain_partitions(self) -> int:
        """How many partitions the event chain's accounts are spread over (1 before
        migration 0015, or when never configured)."""
        if self._partitions is None:
            try:
                rows = self._read("SELECT partitions FROM chain_config")
            except PersistenceError:
                return 1  # not migrated yet: ask again next time
            self._partitions = int(rows[0][0]) if rows else 1
        return self._partitions

    def set_chain_partitions(self, count: int) -> None:
        """Spread the accounts over ``count`` chain partitions from now on.

        Every process of the database must agree: change it only while no other process
        writes (each reads it once, on its first unit of work). An account's earlier events
        stay in the partition they were written to; each partition verifies on its own.
        From 1 it can go to any count (partition 0 keeps the one chain's rows, below every
        other range); once partitions above 0 hold events it stays (``ConfigError``).
        Raise it only once every process runs this code: one from before reads the newest
        ``seq`` of all partitions as the one chain's head.
        """
        if not 1 <= count <= 4096:
            raise ConfigError(f"chain partitions must be 1-4096, not {count}")
        self._partitions = None
        now = self.chain_partitions()
        if now > 1 and count != now and any(p > 0 for p in self.event_partitions()):
            # an account moved from one partition to another could sort its later fills
            # before its earlier ones (seq order), and verification folds them so
            raise ConfigError(
                f"the chain is spread over {now} partitions already and they hold events: "
                "the count can change only from 1 (accounts then move to higher ranges)"
            )
        self._write("UPDATE chain_config SET partitions = %s", (count,))
        self._partitions = count

    def event_partitions(self) -> list[int]:
        """The partitions that hold any event, stub or anchor (ascending)."""
        with self.connection() as conn, translated():
            chain = PostgresChain(conn)
            return partitions(chain.one)

    def close(self) -> None:
        for close in self._on_close:
            close()
        self._on_close.clear()
        self._pool.close()
        if self.audit is not None and self.audit.checkpoint is not None:
            self.audit.checkpoint.close()  # synced at shutdown

    def on_close(self, close: Callable[[], None]) -> None:
        """Have ``close`` called when the store closes."""
        self._on_close.append(close)

    @contextmanager
    def transaction(self) -> Iterator[PostgresUnitOfWork]:
        """A unit of work on a pooled connection: committed when the block ends, rolled
        back when it raises. Its statements are pipelined (see ``pg_uow``)."""
        wait_ms = int(self.replay_wait_s * 1000)
        key = None if self.audit is None else self.audit.key
        claims = self.accept_claims
        lease = None if claims is None else claims.accept_lease()
        asked = time.monotonic()  # before the unit's first round trip (and its claims)
        partitions = self.chain_partitions()  # read once, before a connection is held
        with ExitStack() as stack:
            held = [self._checkout(stack)]

            spare = [self._pool.max_size]  # every pooled connection may have been dropped

            def reconnect() -> psycopg.Connection[Any] | None:
                """Nothing was done on the broken connection yet: another one instead."""
                held.pop().close()  # the pool drops it
                if spare[0] <= 0:
                    return None
                spare[0] -= 1
                held.append(self._checkout(stack))
                return held[-1].conn

            uow = PostgresUnitOfWork(
                held[0].conn,
                key,
                replay_wait_ms=wait_ms,
                chain=self.chain_heads,
                partitions=partitions,
                reconnect=reconnect,
                lease=lease,
                durable=self.synchronous_commit,
            )
            try:
                yield uow
                uow.commit()
            except BaseException:
                uow.rollback()
                raise
            finally:
                self.round_trips += uow.round_trips
                self.statements += uow.statements
                if uow.chain_seconds:
                    self.chain_commits += 1
                    self.chain_seconds += uow.chain_seconds
        if uow.heads_written and self.audit and self.audit.checkpoint:
            for seq, digest in uow.heads_written:  # each partition's own checkpoint
                self.audit.checkpoint.committed(seq, digest)
        if uow.leased and claims is not None:
            claims.leased(uow.leased, asked)

    def _checkout(self, stack: ExitStack) -> _Checkout:
        """A pooled connection, given back when ``stack`` (or the checkout) closes."""
        checkout = _Checkout(self._pool)
        stack.callback(checkout.close)
        return checkout

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

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._read(sql.replace("?", "%s"), list(params))

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

    def save_kill_switch(self, switch: StoredKillSwitch) -> None:
        """Upsert on (kind, target)."""
        self._write(
            "INSERT INTO kill_switches (kind, target, state, reason, actor, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (kind, target) DO UPDATE SET "
            "state = excluded.state, reason = excluded.reason, actor = excluded.actor, "
            "updated_at = excluded.updated_at",
            (
                switch.kind,
                switch.target,
                switch.state,
                switch.reason,
                switch.actor,
                switch.updated_at,
            ),
        )

    def save_trading_control(self, control: StoredControl) -> None:
        """Upsert on name."""
        self._write(
            "INSERT INTO trading_controls (name, value, actor, reason, updated_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET "
            "value = excluded.value, actor = excluded.actor, reason = excluded.reason, "
            "updated_at = excluded.updated_at",
            (control.name, control.value, control.actor, control.reason, control.updated_at),
        )

    def outbox_after(self, last_id: int, limit: int) -> list[OutboxMessage]:
        """The outbox after ``last_id``, once everything read is durable: a unit that
        extends the chain lets its locks go before its WAL flush (``pg_uow``), so the
        relay waits for a flush past what it read before it publishes any of it."""
        messages = super().outbox_after(last_id, limit)
        if messages and self.synchronous_commit:
            with self.connection() as conn, translated(), conn.transaction():
                conn.execute("SELECT pg_current_xact_id()")  # its commit waits for the flush
        return messages

    def outbox_in(self, partition: int, last_id: int, limit: int) -> list[OutboxMessage]:
        """:meth:`outbox_after` within one partition of the chain: its messages after
        ``last_id`` (or from its start), in its ``seq`` (commit) order."""
        lo, hi = seq_range(partition)
        rows = self._read(
            "SELECT id, topic, key, payload, created_at FROM outbox "
            "WHERE id > %s AND id < %s ORDER BY id LIMIT %s",
            (max(last_id, lo), hi, limit),
        )
        messages = [OutboxMessage(r[0], r[1], r[2], r[3], ts_parse(r[4])) for r in rows]
        if messages and self.synchronous_commit:
            with self.connection() as conn, translated(), conn.transaction():
                conn.execute("SELECT pg_current_xact_id()")  # its commit waits for the flush
        return messages

    def set_outbox_cursor(self, consumer: str, last_id: int) -> None:
        """Move the cursor forward (never back: two relays may race)."""
        self._write(
            "INSERT INTO outbox_cursors (consumer, last_id) VALUES (%s, %s) "
            "ON CONFLICT (consumer) DO UPDATE "
            "SET last_id = GREATEST(outbox_cursors.last_id, excluded.last_id)",
            (consumer, last_id),
        )

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        """One statement in its own (autocommit) transaction."""
        with self.connection() as conn, translated():
            conn.execute(sql, params)


class AcceptClaims(Protocol):
    """The fence's claim made in a submit's accept transaction (``pg_leases``)."""

    def accept_lease(self) -> tuple[str, timedelta] | None:
        """(owner, lease time) to lease orders to as they are accepted; None: do not."""
        ...

    def leased(self, order_ids: list[str], asked: float) -> None:
        """These orders were leased in a committed accept that began at ``asked``
        (this process's monotonic clock)."""
        ...


class _Checkout:
    """One connection taken from the pool, until :meth:`close` gives it back."""

    def __init__(self, pool: ConnectionPool[psycopg.Connection[Any]]) -> None:
        self._pool = pool
        try:
            self.conn = pool.getconn()
        except PoolTimeout as exc:  # the pool is exhausted
            raise translate(exc) from exc
        except psycopg.Error as exc:
            raise translate(exc) from exc
        self._open = True

    def close(self) -> None:
        if self._open:
            self._open = False
            self._pool.putconn(self.conn)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
