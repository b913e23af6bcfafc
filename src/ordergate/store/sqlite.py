"""The embedded store: one SQLite file in WAL mode (or ``:memory:`` for backtests).

One connection, guarded by a lock, serves every thread of the process; a unit of work
is a ``SAVEPOINT`` inside a ``BEGIN IMMEDIATE … COMMIT`` that concurrent units share
(group commit, ``store/group_commit.py``): writers never interleave, each is released
once its commit is durable, and a reader — here or in another process (the CLI beside
``ordergate serve``) — sees only committed steps (a read here commits the open group).
``synchronous=FULL`` (the default) makes each commit survive power loss; ``NORMAL``
survives a process crash only, and is several times faster (see bench/).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog

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
from ordergate.store.base import (
    BookedFill,
    DailyPnl,
    DuplicateKey,
    EventRecord,
    StaleOrder,
    StoredControl,
    StoredIntent,
    StoredKillSwitch,
)
from ordergate.store.chain import SQLITE_HEAD, chain_rows
from ordergate.store.chain_sources import SqliteChain
from ordergate.store.checkpoint import AuditTrail
from ordergate.store.group_commit import DEFAULT_LINGER_S, DEFAULT_MAX_GROUP, GroupCommit
from ordergate.store.migrate import apply_migrations
from ordergate.store.reads import IS_OPEN, ORDER_SELECT, SqlReads, fold_daily_pnl
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
    ts_text,
)
from ordergate.store.seal import seal_chain

_ORDER_INSERT = (
    f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}, intent_id) "
    f"VALUES ({', '.join('?' * (len(ORDER_COLUMNS) + 1))})"
)
_ORDER_UPDATE = (
    f"UPDATE orders SET {', '.join(f'{c} = ?' for c in ORDER_MUTABLE)} "
    "WHERE order_id = ? AND version = ?"
)
SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA", "OFF")
log = structlog.get_logger("ordergate.store")


def _translate(exc: sqlite3.Error) -> PersistenceError:
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc):
        return DuplicateKey(f"duplicate key: {exc}")
    return PersistenceError(f"the SQLite store failed: {exc}")


class ChainHead:
    """The event chain's newest ``(seq, hash)``, remembered from our last commit.

    Asking SQLite for it costs a three-table query per unit of work. The remembered
    head is good while no other connection has written: ``PRAGMA data_version``
    changes when one has (read inside the write lock, so none can write meanwhile).
    """

    __slots__ = ("group_version", "head", "pending", "version")

    def __init__(self) -> None:
        self.head: tuple[int, str] | None = None
        #: data_version the head was seen at; None when it is not known
        self.version: int | None = None
        #: (head, version) written by the unit of work in progress
        self.pending: tuple[tuple[int, str], int] | None = None
        #: data_version read in the open group (its write lock held, no other connection
        #: can change it before the commit): read once a group, not once a unit
        self.group_version: int | None = None

    def committed(self) -> tuple[int, str] | None:
        """The unit of work committed: its head is the head (returned; None when it
        wrote no event). One that rolls back never gets here, and the next one starts
        with no pending head."""
        if self.pending is None:
            return None
        self.head, self.version = self.pending
        self.pending = None
        return self.head


class SqliteUnitOfWork:
    """One ``BEGIN IMMEDIATE`` transaction on the store's connection."""

    def __init__(
        self, conn: sqlite3.Connection, chain: ChainHead, key: bytes | None = None
    ) -> None:
        self._c = conn
        self._chain = chain
        self._key = key
        #: True once the unit may return before its group is durable (:meth:`defer`)
        self.deferred = False

    def defer(self) -> None:
        """Let this unit return before its commit is durable: it rides the group's
        commit (``store/group_commit.py``). Only for what can be had again after a
        crash — a broker's answer a look-up gives back."""
        self.deferred = True

    def find_intent(self, account_id: str, idempotency_key: str) -> StoredIntent | None:
        row = self._c.execute(
            "SELECT intent_id, account_id, idempotency_key, payload_hash, payload, received_at, "
            "order_id FROM intents WHERE account_id = ? AND idempotency_key = ?",
            (account_id, idempotency_key),
        ).fetchone()
        if row is None:
            return None
        return StoredIntent(row[0], row[1], row[2], row[3], row[4], ts_parse(row[5]), row[6])

    def insert_intent(self, intent: StoredIntent) -> None:
        self._c.execute(
            "INSERT INTO intents (intent_id, account_id, idempotency_key, payload_hash, payload, "
            "received_at, order_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                intent.intent_id,
                intent.account_id,
                intent.idempotency_key,
                intent.payload_hash,
                intent.payload,
                ts_text(intent.received_at),
                intent.order_id,
            ),
        )

    def insert_order(self, order: Order, intent_id: str) -> None:
        self._c.execute(_ORDER_INSERT, (*order_values(order), intent_id))

    def update_order(self, order: Order, expected_version: int) -> None:
        cursor = self._c.execute(
            _ORDER_UPDATE, (*order_update_values(order), order.order_id, expected_version)
        )
        if cursor.rowcount != 1:
            raise StaleOrder(
                f"order {order.order_id} changed underneath this update "
                f"(expected version {expected_version})"
            )

    def get_order(self, order_id: str) -> Order | None:
        row = self._c.execute(f"{ORDER_SELECT} WHERE order_id = ?", (order_id,)).fetchone()
        return None if row is None else order_from_row(row)

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        row = self._c.execute(
            f"{ORDER_SELECT} WHERE client_order_id = ?", (client_order_id,)
        ).fetchone()
        return None if row is None else order_from_row(row)

    def open_orders_for(self, account_id: str, symbol: str | None = None) -> list[Order]:
        if symbol is None:
            rows = self._c.execute(
                f"{ORDER_SELECT} WHERE {IS_OPEN} AND account_id = ?", (account_id,)
            ).fetchall()
        else:
            rows = self._c.execute(
                f"{ORDER_SELECT} WHERE {IS_OPEN} AND account_id = ? AND symbol = ?",
                (account_id, symbol),
            ).fetchall()
        return [order_from_row(row) for row in rows]

    def record_events(self, events: Sequence[EventRecord]) -> None:
        if not events:
            return
        chain = self._chain
        version = chain.group_version
        if version is None:
            version = chain.group_version = self._c.execute("PRAGMA data_version").fetchone()[0]
        if chain.pending is not None:  # an earlier unit of this group (or this one) wrote
            head: tuple[int, str] | None = chain.pending[0]
        elif chain.version == version:
            head = chain.head
        else:
            head = self._c.execute(SQLITE_HEAD).fetchone()
        rows = chain_rows(head, events, self._key)
        self._c.executemany(
            "INSERT INTO order_events (seq, order_id, topic, from_status, to_status, payload, "
            "ts, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        chain.pending = ((rows[-1][0], rows[-1][8]), version)

    def add_receipt(
        self, order_id: str, client_order_id: str, adapter: str, raw: str, ts: datetime
    ) -> None:
        self._c.execute(
            "INSERT INTO broker_receipts (order_id, client_order_id, adapter, raw, received_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (order_id, client_order_id, adapter, raw, ts_text(ts)),
        )

    def has_fill(self, order_id: str, exec_id: str) -> bool:
        row = self._c.execute(
            "SELECT 1 FROM fills WHERE order_id = ? AND exec_id = ?", (order_id, exec_id)
        ).fetchone()
        return row is not None

    def insert_fill(
        self,
        fill: Fill,
        account_id: str,
        strategy_id: str,
        realized_gross: Decimal,
        trading_day: str,
    ) -> None:
        self._c.execute(
            FILL_INSERT,
            fill_values(
                fill, account_id, strategy_id, realized_gross, trading_day, ts_text(fill.ts)
            ),
        )

    def booked_fill(self, order_id: str, exec_id: str) -> BookedFill | None:
        row = self._c.execute(BOOKED_FILL, (order_id, exec_id)).fetchone()
        return None if row is None else booked_from_row(row)

    def position_fills(self, account_id: str, symbol: str) -> list[Fill]:
        rows = self._c.execute(POSITION_FILLS, (account_id, symbol)).fetchall()
        return [fill_from_row(row) for row in rows]

    def amend_fill(
        self, before: Fill, after: Fill | None, realized_gross: Decimal, amend_id: str
    ) -> None:
        self._c.execute(AMEND_FILL, amend_values(before, after, realized_gross, amend_id))

    def get_position(self, account_id: str, symbol: str) -> Position:
        row = self._c.execute(
            "SELECT account_id, symbol, qty, avg_price, realized_gross, commission "
            "FROM positions WHERE account_id = ? AND symbol = ?",
            (account_id, symbol),
        ).fetchone()
        if row is None:
            return Position(account_id=account_id, symbol=symbol)
        return position_from_row(row)

    def save_position(self, position: Position, ts: datetime) -> None:
        self._c.execute(
            "INSERT INTO positions (account_id, symbol, qty, avg_price, realized_gross, "
            "commission, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account_id, symbol) DO UPDATE SET qty = excluded.qty, "
            "avg_price = excluded.avg_price, realized_gross = excluded.realized_gross, "
            "commission = excluded.commission, updated_at = excluded.updated_at",
            position_values(position, ts),
        )

    def save_mark(self, mark: Mark) -> None:
        self._c.execute(
            "INSERT INTO marks (symbol, last, bid, ask, volume, ts, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) " + MARK_UPSERT,
            mark_values(mark),
        )


class WalCheckpointer:
    """Copies the WAL back into the database from its own thread and connection.

    SQLite's automatic checkpoint runs inside whichever commit crosses the threshold and
    stalls that order for milliseconds; here a PASSIVE checkpoint runs every
    ``interval`` seconds beside the writers instead, and a final one at close.

    A checkpoint beside a writer that never stops never *completes*: frames are appended
    while it copies, so the WAL is never found fully copied when the next transaction
    begins, and SQLite never starts writing it from the front again — it grew by ~64 KB
    an order without end (352 MB after 5,400 orders). So once a round has copied what it
    could, it says so (:attr:`caught_up`) and the store, between two groups, checkpoints
    the few frames written since on its own connection (:meth:`SqliteStore._begin`):
    the next transaction then rewrites the WAL from its start, in place.
    """

    def __init__(self, path: str, interval: float) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        #: set after a round that copied the WAL; the store clears it (GIL-atomic flag)
        self.caught_up = False
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, timeout=30)
        except sqlite3.Error:
            log.exception("WAL checkpointer cannot open the store", path=self._path)
            return
        failing: str | None = None
        try:
            while not self._stop.wait(self._interval):
                if not os.path.exists(self._path):  # the store's file is gone: nothing to do
                    log.warning("WAL checkpointer stops: the store is gone", path=self._path)
                    return
                failing = self._checkpoint(conn, "PASSIVE", failing)
                if failing is None:
                    self.caught_up = True
            self._checkpoint(conn, "TRUNCATE", failing)
        finally:
            conn.close()

    @staticmethod
    def _checkpoint(conn: sqlite3.Connection, mode: str, failing: str | None) -> str | None:
        """One checkpoint; the error it met, if any. A failure is logged when it starts
        (or changes), not on every round while it lasts; its end is logged too."""
        try:
            conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        except sqlite3.Error as exc:  # busy or broken: the next round tries again
            if str(exc) != failing:
                log.warning("WAL checkpoint failed", mode=mode, error=str(exc))
            return str(exc)
        if failing is not None:
            log.info("WAL checkpoint works again", mode=mode)
        return None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


class SqliteStore(SqlReads):
    """The SQLite backend of :class:`~ordergate.store.base.Store`."""

    def __init__(
        self,
        path: str | Path = "ordergate.db",
        *,
        synchronous: str = "FULL",
        busy_timeout_ms: int = 5000,
        checkpoint_interval_s: float = 1.0,
        audit: AuditTrail | None = None,
        max_group: int = DEFAULT_MAX_GROUP,
        group_linger_s: float = DEFAULT_LINGER_S,
    ) -> None:
        """``audit``: the audit key the chain is keyed with and the checkpoint of its head
        (``obs.keys.audit_trail``); without it the chain is plain sha256. ``max_group``
        and ``group_linger_s``: the group commit's bounds (``store/group_commit.py``)."""
        self.path = str(path)
        self.audit = audit
        self.url = f"sqlite:///{self.path}"
        mode = synchronous.upper()
        if mode not in SYNCHRONOUS_MODES:
            raise PersistenceError(f"sqlite synchronous must be one of {SYNCHRONOUS_MODES}")
        self._lock = threading.RLock()
        self._chain = ChainHead()
        #: units of work of this thread in progress (1 inside a unit; nested ones join it)
        self._depth = 0
        self._group = GroupCommit(
            self._lock, self._commit_group, max_group=max_group, linger_s=group_linger_s
        )
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {mode}")
            self._conn.execute("PRAGMA foreign_keys = ON")
        except (sqlite3.Error, OSError) as exc:
            raise PersistenceError(f"cannot open the SQLite store at {self.path}: {exc}") from exc
        self._checkpointer: WalCheckpointer | None = None
        if self.path != ":memory:" and checkpoint_interval_s > 0:
            self._conn.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpointer = WalCheckpointer(self.path, checkpoint_interval_s)

    # ------------------------------------------------------------------ admin

    def migrate(self) -> None:
        with self._lock:
            try:
                self.flush()
                apply_migrations(self._conn, "sqlite", self.url)
                if self.audit is not None:
                    seal_chain(SqliteChain(self._conn), self.audit.key)
            except sqlite3.Error as exc:
                raise _translate(exc) from exc

    def close(self) -> None:
        """Commit what is open, close the connection, then let the checkpointer run its
        final TRUNCATE. In that order: a group still open holds the write lock, and the
        TRUNCATE would wait on it for its whole busy timeout (a one-shot ``submit`` whose
        receipt was deferred sat 10 s at exit)."""
        self._group.close()
        with self._lock:
            if self._group.open:
                try:
                    self._group.commit_open()
                except PersistenceError:
                    log.exception("the last group commit failed at close")
            self._conn.close()
            if self.audit is not None and self.audit.checkpoint is not None:
                self.audit.checkpoint.close()  # synced at shutdown
        if self._checkpointer is not None:
            self._checkpointer.stop()

    @contextmanager
    def transaction(self) -> Iterator[SqliteUnitOfWork]:
        """One unit of work: a savepoint in the open group (see the module and
        ``store/group_commit.py``); returns once its group's commit is durable, or at
        once when the unit was deferred (:meth:`SqliteUnitOfWork.defer`)."""
        group = self._group
        group.arrive()
        with self._lock:
            group.arrived()
            if self._depth:  # a unit inside a unit of this thread: part of the outer one
                yield self._unit()
                return
            group.check()
            self._begin()
            # the group's first unit needs no savepoint: should it fail, the whole
            # transaction holds nothing else and is rolled back (two statements saved)
            alone = not group.members
            if not alone:
                try:
                    self._conn.execute("SAVEPOINT unit")
                except sqlite3.Error as exc:
                    self._fail_group(exc)
                    raise _translate(exc) from exc
            mark = self._chain.pending
            self._depth = 1
            uow = self._unit()
            try:
                yield uow
                if not alone:
                    self._conn.execute("RELEASE unit")
            except BaseException as exc:
                self._depth = 0
                if alone:
                    self._rollback()
                    self._chain.pending = mark
                    group.discard_empty()
                else:
                    self._abandon_unit(mark)
                if isinstance(exc, sqlite3.Error):
                    raise _translate(exc) from exc
                raise
            self._depth = 0
            gate = group.finish(group.join(deferred=uow.deferred), wait=not uow.deferred)
        group.wait(gate)  # with the lock let go: the next group forms meanwhile

    def _unit(self) -> SqliteUnitOfWork:
        return SqliteUnitOfWork(
            self._conn, self._chain, None if self.audit is None else self.audit.key
        )

    def _begin(self) -> None:
        """Open a group when none is (lock held)."""
        if self._group.open:
            return
        try:
            if not self._conn.in_transaction:
                self._finish_checkpoint()
                self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _translate(exc) from exc
        self._chain.pending = None
        self._chain.group_version = None
        self._group.opened()

    def _finish_checkpoint(self) -> None:
        """After a checkpointer's round (lock held, no transaction open): copy the frames
        written since, so the WAL is wholly copied when the next transaction begins and
        SQLite writes it from its start again (see :class:`WalCheckpointer`). Few
        frames, once a round; a failure only leaves the WAL as long as it was."""
        checkpointer = self._checkpointer
        if checkpointer is None or not checkpointer.caught_up:
            return
        checkpointer.caught_up = False
        try:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint between groups failed", error=str(exc))

    def _abandon_unit(self, mark: tuple[tuple[int, str], int] | None) -> None:
        """Undo one unit of the group (lock held); the others stand."""
        try:
            self._conn.execute("ROLLBACK TO unit")
            self._conn.execute("RELEASE unit")
        except sqlite3.Error as exc:
            self._fail_group(exc)
            return
        self._chain.pending = mark
        self._group.abandon()

    def _fail_group(self, exc: sqlite3.Error) -> None:
        """The connection cannot go on with the open group: roll it all back and fail
        its waiting members (lock held)."""
        self._rollback()
        self._chain.pending = None
        self._chain.version = None
        if self._group.open:
            self._group.fail_open(_translate(exc))

    def _commit_group(self) -> None:
        """COMMIT the open group (called by the group's leader, lock held)."""
        try:
            self._conn.execute("COMMIT")
        except BaseException as exc:  # whatever stopped it, the group is not kept for later
            self._rollback()
            self._chain.pending = None
            self._chain.version = None
            if isinstance(exc, sqlite3.Error):
                raise _translate(exc) from exc
            raise
        written = self._chain.committed()
        if written is not None and self.audit is not None and self.audit.checkpoint:
            self.audit.checkpoint.committed(*written)

    @contextmanager
    def unit_connection(self, *, defer: bool = False) -> Iterator[sqlite3.Connection]:
        """A unit of work on this store's connection for a table beside the orders (the
        leases): it joins the open group like any unit, so one process's writers never
        meet in SQLite's busy handler (it sleeps a millisecond and more per clash).
        ``defer``: as :meth:`SqliteUnitOfWork.defer` (for a hint, such as a release)."""
        with self.transaction() as uow:
            if defer:
                uow.defer()
            yield self._conn

    def read_beside(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """Rows of a table beside the orders, read as :meth:`_read` reads."""
        return self._read(sql, params)

    def check_writable(self) -> None:
        """Raise :class:`PersistenceError` when a failed group commit stopped the store."""
        self._group.check()

    def flush(self) -> None:
        """Commit the open group now (reads, close: only durable data is seen)."""
        with self._lock:
            if self._group.open and not self._depth:
                self._group.commit_open()

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection is already unusable; the next BEGIN reports it

    def _read(
        self, sql: str, params: tuple[Any, ...] = (), *, recoverable: bool = False
    ) -> list[Any]:
        """Rows of one statement, from durable steps only: the open group is committed
        first — unless the read is ``recoverable`` (an order's state) and the group
        holds deferred units only, whose answers a look-up gives back after a crash."""
        group = self._group
        with self._lock:
            group.check()
            try:
                if group.open and not self._depth and (group.awaited or not recoverable):
                    group.commit_open()
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc) from exc

    # ------------------------------------------------------------------ reads

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._read(sql, tuple(params))

    def get_order(self, order_id: str) -> Order | None:
        rows = self._read(f"{ORDER_SELECT} WHERE order_id = ?", (order_id,), recoverable=True)
        return None if not rows else order_from_row(rows[0])

    def order_by_client_id(self, client_order_id: str) -> Order | None:
        sql = f"{ORDER_SELECT} WHERE client_order_id = ?"
        rows = self._read(sql, (client_order_id,), recoverable=True)
        return None if not rows else order_from_row(rows[0])

    def daily_pnl(self, account_id: str | None = None) -> list[DailyPnl]:
        sql = "SELECT trading_day, strategy_id, realized_gross, commission FROM fills"
        rows = (
            self._read(sql)
            if account_id is None
            else self._read(f"{sql} WHERE account_id = ?", (account_id,))
        )
        return fold_daily_pnl(rows)

    def save_kill_switch(self, switch: StoredKillSwitch) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO kill_switches (kind, target, state, reason, actor, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, target) DO UPDATE SET "
                "state = excluded.state, reason = excluded.reason, actor = excluded.actor, "
                "updated_at = excluded.updated_at",
                (
                    switch.kind,
                    switch.target,
                    switch.state,
                    switch.reason,
                    switch.actor,
                    ts_text(switch.updated_at),
                ),
            )

    def save_trading_control(self, control: StoredControl) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO trading_controls (name, value, actor, reason, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
                "actor = excluded.actor, reason = excluded.reason, "
                "updated_at = excluded.updated_at",
                (
                    control.name,
                    control.value,
                    control.actor,
                    control.reason,
                    ts_text(control.updated_at),
                ),
            )

    def set_outbox_cursor(self, consumer: str, last_id: int) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO outbox_cursors (consumer, last_id) VALUES (?, ?) "
                "ON CONFLICT (consumer) DO UPDATE SET last_id = MAX(last_id, excluded.last_id)",
                (consumer, last_id),
            )
