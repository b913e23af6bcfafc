"""The unit of work of the PostgreSQL store: one transaction on one pooled connection.

See :mod:`ordergate.store.postgres` for the locks it takes and why. One lock order
everywhere: an order's position lock (account, symbol), then the order's row. A step
that books a receipt reads the position before it writes the order row, so a step
that reads an order first takes that order's position lock before its row lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import structlog
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from ordergate.domain.enums import OrderStatus
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
from ordergate.store.chain import (
    PG_HEAD_IN,
    PG_PARTITION_LOCK,
    chain_rows,
    partition_of,
    pg_lock_key,
    seq_range,
)
from ordergate.store.pg_chain_head import ChainHeads, Head
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
#: Refused on the server (og_expect_one, SQLSTATE OGS01) when the version moved on.
_ORDER_UPDATE = (
    f"WITH u AS (UPDATE orders SET {', '.join(f'{c} = %s' for c in ORDER_MUTABLE)}, "
    "db_touched_at = clock_timestamp() WHERE order_id = %s AND version = %s RETURNING 1) "
    "SELECT og_expect_one((SELECT count(*) FROM u), %s)"
)
#: A unit's events of one partition, checked and inserted on the server (migration 0015).
#: The arrays go in binary (``%b``): the text form escapes every quote of every
#: payload with a regular expression, ~0.1 ms of CPU an order.
_APPEND = (
    "SELECT og_chain_append(%s, %s, %s, %s, %s, %b::bigint[], %b::text[], %b::text[], "
    "%b::text[], %b::text[], %b::text[], %b::text[]::timestamptz[], %b::text[], %b::text[])"
)
#: The fence's claim riding in the accept (see ``pg_leases.PostgresLeases.begin_send``).
_LEASE_INSERT = (
    "INSERT INTO order_leases (order_id, owner, expires_at) "
    "VALUES (%s, %s, clock_timestamp() + %s) ON CONFLICT (order_id) DO NOTHING"
)
_TO_SEND = (OrderStatus.PENDING, OrderStatus.SUBMITTED)
_STALE = "OGS01"  # og_expect_one: the order's version moved on
_MOVED = "OGC01"  # og_chain_expect: the chain's head is not the one the events follow


class _Stretch:
    """A unit's events of one partition, and the rows they make after its head."""

    __slots__ = ("after", "events", "partition", "rows", "written")

    def __init__(self, partition: int, events: list[EventRecord]) -> None:
        self.partition = partition
        self.events = events
        self.after: Head | None = None
        self.rows: list[tuple[Any, ...]] = []
        self.written: tuple[int, str] = (0, "")

    def chain(self, after: Head | None, key: bytes | None) -> None:
        """Hash the events after ``after`` (None: the partition is empty)."""
        self.after = after
        self.rows = chain_rows(after, self.events, key, seq_range(self.partition)[0])
        self.written = (int(self.rows[-1][0]), str(self.rows[-1][8]))


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    params: Any = ()
    many: bool = False  # executemany over ``params``


_BEGIN = _Statement("BEGIN")
_COMMIT = _Statement("COMMIT")
_XID = _Statement("SELECT pg_current_xact_id()")  # an xid: its commit waits for the flush
_SAVEPOINT = _Statement("SAVEPOINT og_chain")  # a refused check undoes only what follows
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


def _forget_prepared(conn: psycopg.Connection[Any]) -> None:
    """After a failed pipeline, drop the statements the driver prepared, on both sides.

    The driver counts a statement as prepared once it has queued its Parse; when an earlier
    statement of the pipeline fails, the server skips that Parse, and the next use of the
    statement names one that does not exist (SQLSTATE 26000). psycopg has no public call
    for this: clearing its cache also queues a ``DEALLOCATE ALL`` for the next statement.
    """
    conn._prepared.clear()


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
    """One transaction on one pooled connection, its statements pipelined.

    Writes are queued and go to the server with the next read, or with ``COMMIT``, in one
    pipeline (one round trip); ``BEGIN`` goes with the first of them. So a submit's accept
    is two round trips (its reads; its writes, events and commit) and so is its receipt.
    A queued write's error (a duplicate key, a stale version) is raised by the read or the
    commit it went with; every check is made on the server (``og_expect_one``,
    ``og_chain_expect``: migration 0013), so a failed one skips the ``COMMIT`` behind it.
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        key: bytes | None = None,
        *,
        replay_wait_ms: int = 0,
        chain: ChainHeads | None = None,
        partitions: int = 1,
        reconnect: Callable[[], psycopg.Connection[Any] | None] | None = None,
        lease: tuple[str, timedelta] | None = None,
        durable: bool = True,
    ) -> None:
        self._c = conn
        self._key = key  # the audit key (None: a plain sha256 chain)
        #: the head of each partition after this unit's events, to checkpoint once it
        #: commits (see ``store.checkpoint``)
        self.heads_written: list[tuple[int, str]] = []
        #: how long a replay waits for another process's send of the order to settle
        self.replay_wait_ms = replay_wait_ms
        self._heads = chain if chain is not None else ChainHeads()
        #: the chain's partitions (``chain_config``): an event goes to its account's
        self._partitions = partitions
        #: order id -> account of the orders this unit read or wrote (their partitions)
        self._accounts: dict[str, str] = {}
        #: a fresh connection while nothing of this unit was done, None when there are
        #: no more to try (see ``_pipeline``)
        self._reconnect = reconnect
        self._queue: list[_Statement] = []
        #: commits wait for their WAL flush (the store's synchronous_commit)
        self._durable = durable
        #: (owner, ttl): an order about to be sent is leased to its owner in this unit
        self._lease = lease
        #: orders leased by this unit (to its owner, from before its first round trip)
        self.leased: list[str] = []
        self._begun = False
        #: this unit's events, hashed at commit (see ``commit``)
        self._events: list[EventRecord] = []
        self._believed = False  # hashed after this process's beliefs, not heads read
        self._advanced: list[int] = []  # the partitions whose belief this unit moved on
        #: statements and pipelines sent (round trips), for the bench's count
        self.statements = 0
        self.round_trips = 0
        #: how long the commit that held the chain took (the bench's lock-hold figure)
        self.chain_seconds = 0.0

    # ------------------------------------------------------------ the pipeline

    def _write(self, sql: str, params: Any, *, many: bool = False) -> None:
        self._queue.append(_Statement(sql, params, many))

    def _pipeline(self, tail: Sequence[_Statement]) -> list[Any]:
        """Send the queued writes and then ``tail`` in one round trip (``BEGIN`` first
        when the transaction has not begun); the rows of each of ``tail``.

        The first round trip of a unit does nothing but begin and read: should the
        server have closed this pooled connection while it idled, it is done again on a
        fresh one (the pool drops the broken one).
        """
        first = not self._begun and not self._queue  # begin and read, nothing else
        statements = [*self._queue, *tail]
        self._queue = []
        if not self._begun:
            statements.insert(0, _BEGIN)
            self._begun = True
        while True:
            try:
                return self._send(statements, len(tail))
            except psycopg.OperationalError:
                fresh = self._reconnect() if first and self._reconnect is not None else None
                if fresh is None:
                    raise
                self._c = fresh

    def _send(self, statements: Sequence[_Statement], answers: int) -> list[Any]:
        conn = self._c
        self.statements += len(statements)
        self.round_trips += 1
        if len(statements) == 1 and not statements[0].many:
            cursor = conn.execute(statements[0].sql, statements[0].params)
            return [cursor.fetchall() if cursor.description else cursor.rowcount]
        cursors: list[psycopg.Cursor[Any] | None] = []
        first_answer = len(statements) - answers
        try:
            with conn.pipeline():
                # the statements whose rows nobody reads share one cursor (a cursor a
                # statement costs ~3 us of CPU); an error of any of them is raised
                # when the pipeline syncs, as before
                quiet = conn.cursor()
                for n, s in enumerate(statements):
                    if s.many:
                        quiet.executemany(s.sql, s.params)
                        cursors.append(None)
                    elif n < first_answer:
                        quiet.execute(s.sql, s.params)
                        cursors.append(None)
                    else:
                        cursors.append(conn.execute(s.sql, s.params))
        except psycopg.Error:
            _forget_prepared(conn)
            raise
        return [
            c.fetchall() if c is not None and c.description else None
            for c in cursors[first_answer:]
        ]

    def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        rows: list[Any] = self._reads(_Statement(sql, params))[-1]
        return rows

    def _reads(self, *statements: _Statement) -> list[Any]:
        """The rows of each of ``statements``, sent after what is queued (one round trip)."""
        try:
            return self._pipeline(statements)
        except psycopg.Error as exc:
            raise self._failed(exc) from exc

    def _failed(self, exc: psycopg.Error) -> PersistenceError:
        if exc.sqlstate == _STALE:
            return StaleOrder(
                "an order changed underneath this update (its version moved on)",
                context={"sqlstate": _STALE},
            )
        return translate(exc)

    def commit(self) -> None:
        """Send what is queued, this unit's events and ``COMMIT``: one round trip when
        the head of every partition the events go to was as this process believed (see
        ``pg_chain_head``), two when a head is read first (under its partition's lock)."""
        started = time.perf_counter()
        try:
            if not self._events:
                if self._begun or self._queue:
                    self._pipeline([_COMMIT])
                return
            stretches = self._stretches()
            if self._believe(stretches):
                try:
                    self._pipeline([_SAVEPOINT, *self._appends(stretches, True), *self._end()])
                except psycopg.Error as exc:
                    if exc.sqlstate != _MOVED:
                        raise
                    self._refused(stretches, exc)
                    self._c.execute("ROLLBACK TO SAVEPOINT og_chain")
                    self._read_heads(stretches)
                    self._pipeline([*self._appends(stretches, False), *self._end()])
            else:
                self._read_heads(stretches)
                self._pipeline([*self._appends(stretches, False), *self._end()])
            if not self._believed:
                for st in stretches:
                    head = self._heads.of(st.partition)
                    with head.lock:
                        head.committed(st.written)
            self._believed = False
            self.heads_written = [st.written for st in stretches]
            self.chain_seconds = time.perf_counter() - started  # the lock(s) held at most this
        except psycopg.Error as exc:
            raise self._failed(exc) from exc
        finally:
            self._forget_belief()

    def rollback(self) -> None:
        """End the transaction without keeping anything (a broken connection: nothing to end)."""
        self._forget_belief()
        if not self._begun or self._c.broken or self._c.closed:
            return
        try:
            self._c.execute("ROLLBACK")
        except psycopg.Error:
            log.warning("rollback failed; the pool drops the connection")

    def _forget_belief(self) -> None:
        """This unit moved the beliefs on and did not commit: nobody follows its rows."""
        if self._believed:
            self._believed = False
            for partition in self._advanced:
                head = self._heads.of(partition)
                with head.lock:
                    head.forget()

    # ------------------------------------------------------------ the chain

    def record_events(self, events: Sequence[EventRecord]) -> None:
        """Queue ``events`` for the chain: they are hashed at commit, after the head of
        their partition (see ``commit``)."""
        self._events.extend(events)

    def _stretches(self) -> list[_Stretch]:
        """This unit's events by partition, partitions in ascending order (the order
        their locks are taken in, so two units never wait on each other's)."""
        if self._partitions <= 1:
            return [_Stretch(0, self._events)]
        unknown = {
            e.order_id for e in self._events if e.order_id and e.order_id not in self._accounts
        }
        if unknown:  # an event of an order this unit did not read or write: rare
            rows = self._all(
                "SELECT order_id, account_id FROM orders WHERE order_id = ANY(%s)",
                (sorted(unknown),),
            )
            self._accounts.update((str(r[0]), str(r[1])) for r in rows)
        by: dict[int, list[EventRecord]] = {}
        for e in self._events:
            account = self._accounts.get(e.order_id) if e.order_id else None
            p = 0 if account is None else partition_of(account, self._partitions)
            by.setdefault(p, []).append(e)
        return [_Stretch(p, by[p]) for p in sorted(by)]

    def _believe(self, stretches: Sequence[_Stretch]) -> bool:
        """Hash each stretch after this process's belief about its partition's head and
        move the belief on; False (nothing hashed) when any belief is missing."""
        heads = [self._heads.of(st.partition) for st in stretches]
        for head in heads:
            head.lock.acquire()
        try:
            beliefs = [head.believed() for head in heads]
            if not all(known for known, _ in beliefs):
                return False
            for st, head, (_, after) in zip(stretches, heads, beliefs, strict=True):
                st.chain(after, self._key)
                head.advance(st.written)
            self._believed = True
            self._advanced = [st.partition for st in stretches]
            return True
        finally:
            for head in heads:
                head.lock.release()

    def _refused(self, stretches: Sequence[_Stretch], exc: psycopg.Error) -> None:
        """A check was refused: another writer moved that partition's head (the error's
        detail names it). Its belief goes, and the others this unit moved on; the unit
        reads the heads and hashes again."""
        detail = getattr(exc.diag, "message_detail", None)
        named = {int(detail)} if detail and detail.isdigit() else None
        for st in stretches:
            head = self._heads.of(st.partition)
            with head.lock:
                if named is None or st.partition in named:
                    head.refuse()
                else:  # not checked, or checked and then undone: its rows will change
                    head.forget()
        self._believed = False  # the heads are read now (``commit`` believes them after)

    def _read_heads(self, stretches: Sequence[_Stretch]) -> None:
        """Each partition's head, under its write lock held until this unit ends (one
        round trip for all, locks in ascending partition order), and the events hashed
        after it."""
        reads: list[_Statement] = []
        for st in stretches:
            lo, hi = seq_range(st.partition)
            reads.append(_Statement(PG_PARTITION_LOCK, (pg_lock_key(st.partition),)))
            reads.append(_Statement(PG_HEAD_IN, (lo, hi) * 3))
        answers = self._pipeline(reads)
        for st, rows in zip(stretches, answers[1::2], strict=True):
            st.chain((int(rows[0][0]), rows[0][1]) if rows else None, self._key)

    def _end(self) -> list[_Statement]:
        """``COMMIT``; for a unit that extends the chain, one that lets go of the event
        log's lock before the WAL flush, and then waits for that flush.

        The chain's lock is held until the commit ends, so every event-writing commit of
        every process would wait for the one before it *and its flush*: one flush at a
        time. Here the unit commits without waiting for its flush (``og_chain_append``
        set ``synchronous_commit`` off for it: its locks go at once), then a transaction
        of nothing but an xid — implicit, committed when the pipeline ends (its Sync) —
        waits for the WAL to be flushed up to its own commit record and so past this
        unit's: when the pipeline answers, this unit is durable. Meanwhile the next unit
        holds the lock, and concurrent flushes are one fsync (the server's group
        commit). Nobody is told of
        this unit before it is durable: the caller waits for the pipeline, and the relay
        waits for a flush past what it read (``PostgresStore.outbox_after``).
        """
        if not self._events or not self._durable:
            return [_COMMIT]
        return [_COMMIT, _XID]

    def _appends(self, stretches: Sequence[_Stretch], checked: bool) -> list[_Statement]:
        """One ``og_chain_append`` a partition (migration 0015): the check of the head
        its rows follow (``checked``: hashed after a belief), the flush wait let go (see
        :meth:`_end`) and the rows, in one statement."""
        out = []
        for st in stretches:
            after = st.after or (None, None)
            columns = [list(c) for c in zip(*st.rows, strict=True)]
            out.append(
                _Statement(_APPEND, (st.partition, checked, *after, self._durable, *columns))
            )
        return out

    def _order(self, where: str, value: str) -> Order | None:
        """The order, row-locked, after its position lock (one lock order: see module)."""
        rows = self._reads(
            _Statement(_LOCK_POSITION_OF.format(where=where), (value,)),
            _Statement(f"{ORDER_SELECT} WHERE {where} = %s FOR UPDATE", (value,)),
        )[-1]
        if not rows:
            return None
        order = order_from_row(rows[0])
        self._accounts[order.order_id] = order.account_id
        return order

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
        self._reads(_Statement("SAVEPOINT og_wait"))  # a lock timeout undoes only the wait
        try:
            self._c.execute(f"SET LOCAL lock_timeout = {int(self.replay_wait_ms)}")
            self._c.execute(f"SELECT pg_advisory_xact_lock_shared({SENDING_KEY})", (order_id,))
            self._c.execute("SET LOCAL lock_timeout TO DEFAULT")
            self._c.execute("RELEASE SAVEPOINT og_wait")
        except pg_errors.LockNotAvailable:
            log.info("replay answered while the order is still being sent", order_id=order_id)
            try:
                self._c.execute("ROLLBACK TO SAVEPOINT og_wait")
            except psycopg.Error as exc:
                raise translate(exc) from exc
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def insert_intent(self, intent: StoredIntent) -> None:
        self._write(
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
        self._write(_ORDER_INSERT, (*order_values(order), intent_id))
        self._accounts[order.order_id] = order.account_id
        if self._lease is not None and order.status in _TO_SEND:
            self._write(_LEASE_INSERT, (order.order_id, *self._lease))
            self.leased.append(order.order_id)

    def update_order(self, order: Order, expected_version: int) -> None:
        self._accounts[order.order_id] = order.account_id
        self._write(
            _ORDER_UPDATE,
            (*order_update_values(order), order.order_id, expected_version, order.order_id),
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
        orders = [order_from_row(row) for row in rows]
        self._accounts.update((o.order_id, o.account_id) for o in orders)
        return orders

    def add_receipt(
        self, order_id: str, client_order_id: str, adapter: str, raw: str, ts: datetime
    ) -> None:
        self._write(
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
        self._write(
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
        self._write(AMEND_FILL.replace("?", "%s"), values)

    def get_position(self, account_id: str, symbol: str) -> Position:
        """Read the position under a lock on (account, symbol) held until commit."""
        rows = self._reads(
            _Statement(_LOCK, (f".position\x1f{account_id}\x1f{symbol}",)),
            _Statement(
                f"{POSITION_SELECT} WHERE account_id = %s AND symbol = %s", (account_id, symbol)
            ),
        )[-1]
        if not rows:
            return Position(account_id=account_id, symbol=symbol)
        return position_from_row(rows[0])

    def save_position(self, position: Position, ts: datetime) -> None:
        self._write(
            "INSERT INTO positions (account_id, symbol, qty, avg_price, realized_gross, "
            "commission, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (account_id, symbol) DO UPDATE SET qty = excluded.qty, "
            "avg_price = excluded.avg_price, realized_gross = excluded.realized_gross, "
            "commission = excluded.commission, updated_at = excluded.updated_at",
            position_values(position, ts),
        )

    def save_mark(self, mark: Mark) -> None:
        self._write(
            "INSERT INTO marks (symbol, last, bid, ask, volume, ts, seq) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) " + MARK_UPSERT,
            mark_values(mark),
        )
