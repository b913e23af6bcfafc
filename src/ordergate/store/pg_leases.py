"""Order leases in PostgreSQL (see :mod:`ordergate.store.leases` for the why).

Each operation is one statement, so two processes racing for an orphan settle it in the
database: the loser's ``INSERT … ON CONFLICT … WHERE expires_at < now`` finds a live
lease and takes nothing. Every ownership decision is the database's clock
(``clock_timestamp()``), never a host's: lease expiry, and the age of an order nobody
has leased yet (``orders.db_touched_at``, stamped by the server on every write).

Each change of hands draws a new fencing token (``order_lease_tokens``). A holder about
to send an order claims it once more right before the call (:meth:`begin_send`), on a
connection of its own, and holds a session lock on the order while the send is in flight
(:meth:`end_send` lets go): a replay of the same key in any process waits on that lock,
and answers what the send left (see ``pg_uow.PostgresUnitOfWork.find_intent``).

An order this process accepts is leased to it in the accept transaction itself (the
store asks :meth:`PostgresLeases.accept_lease`): its send then needs no claim of its own,
only the in-flight mark, one statement that writes nothing (no WAL flush). The lease
runs from before that transaction's first round trip by this process's monotonic clock,
and the fence counts its margin from there (``SendGrant.claimed_s_ago``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import psycopg
import structlog

from ordergate.store.lease_port import OPEN_STATUSES, Lease, SendGrant
from ordergate.store.pg_uow import SENDING_KEY
from ordergate.store.postgres import PostgresStore, translate

log = structlog.get_logger("ordergate.store.leases")

_UPSERT = (
    "ON CONFLICT (order_id) DO UPDATE SET owner = excluded.owner, "
    "expires_at = excluded.expires_at, token = CASE "
    "WHEN order_leases.owner = excluded.owner THEN order_leases.token ELSE excluded.token END "
    "WHERE order_leases.owner = excluded.owner OR order_leases.expires_at < clock_timestamp() "
    "RETURNING order_id, token"
)
_EXCLUSIVE_KEY = "hashtextextended(current_schema() || '.exclusive' || chr(31) || %s, 0)"


class _SessionConnection:
    """One autocommit connection of its own, for session locks (sends in flight, an
    exclusive role). Lost with its locks when the server drops it; made again on use,
    and the exclusive roles taken again then (an error is logged if one cannot be)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self.roles: set[str] = set()
        store.on_close(self.close)

    def one(self, sql: str, params: tuple[Any, ...]) -> Any:
        with self._lock:
            try:
                conn = self._conn
                if conn is None or conn.closed or conn.broken:
                    conn = self._conn = self._connect()
                return conn.execute(sql, params).fetchone()
            except psycopg.Error as exc:
                raise translate(exc) from exc

    def _connect(self) -> psycopg.Connection[Any]:
        conn = self._store.open_session()
        for role in sorted(self.roles):
            row = conn.execute(f"SELECT pg_try_advisory_lock({_EXCLUSIVE_KEY})", (role,)).fetchone()
            if not (row and row[0]):
                log.error("an exclusive role was lost with its connection", role=role)
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PostgresLeases:
    """The ``order_leases`` table of a :class:`PostgresStore`, for one owner."""

    def __init__(self, store: PostgresStore, owner: str) -> None:
        self.owner = owner
        self._store = store
        self._session = _SessionConnection(store)
        self._sending: set[str] = set()
        self._sending_lock = threading.Lock()
        #: the lease time the fence asks for (known from its first claim or renewal)
        self._ttl: timedelta | None = None
        #: orders leased in their accept, and when that began (monotonic), oldest first
        self._accepted: dict[str, float] = {}
        store.accept_claims = self

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._store.connection() as conn:
            try:
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
            except psycopg.Error as exc:
                raise translate(exc) from exc

    # ------------------------------------------------------------ claims in the accept

    def accept_lease(self) -> tuple[str, timedelta] | None:
        ttl = self._ttl
        return None if ttl is None else (self.owner, ttl)

    def leased(self, order_ids: list[str], asked: float) -> None:
        with self._sending_lock:
            for order_id in order_ids:
                self._accepted[order_id] = asked
            ttl = self._ttl.total_seconds() if self._ttl is not None else 0.0
            while self._accepted:  # never sent (armed, or failed before): forget them
                first = next(iter(self._accepted))
                if asked - self._accepted[first] <= ttl:
                    break
                del self._accepted[first]

    def _accepted_at(self, order_id: str, ttl: timedelta) -> float | None:
        with self._sending_lock:
            asked = self._accepted.pop(order_id, None)
        return asked if ttl == self._ttl else None

    # ------------------------------------------------------------ leases

    def claim(self, order_ids: Sequence[str], ttl: timedelta) -> list[str]:
        self._ttl = ttl
        ids = sorted(set(order_ids))
        if not ids:
            return []
        rows = self._rows(
            "INSERT INTO order_leases (order_id, owner, expires_at) "
            "SELECT id, %s, clock_timestamp() + %s FROM unnest(%s::text[]) AS id "
            f"{_UPSERT}",
            (self.owner, ttl, ids),
        )
        return sorted(str(r[0]) for r in rows)

    def claim_orphans(self, ttl: timedelta, limit: int = 100) -> list[str]:
        """Expired leases at once; never-leased orders once the database's clock says
        they have been unchanged for ``ttl`` (a host's clock never decides it)."""
        rows = self._rows(
            "INSERT INTO order_leases (order_id, owner, expires_at) "
            "SELECT o.order_id, %s, clock_timestamp() + %s FROM orders o "
            "LEFT JOIN order_leases l ON l.order_id = o.order_id "
            "WHERE o.status = ANY(%s) AND (l.expires_at < clock_timestamp() "
            "OR (l.order_id IS NULL AND o.db_touched_at < clock_timestamp() - %s)) "
            "ORDER BY o.created_at, o.order_id LIMIT %s "
            f"{_UPSERT}",
            (self.owner, ttl, list(OPEN_STATUSES), ttl, limit),
        )
        return sorted(str(r[0]) for r in rows)

    def renew(self, ttl: timedelta) -> list[str]:
        self._ttl = ttl
        rows = self._rows(
            "UPDATE order_leases SET expires_at = clock_timestamp() + %s WHERE owner = %s "
            "RETURNING order_id",
            (ttl, self.owner),
        )
        return sorted(str(r[0]) for r in rows)

    def release(self, order_ids: Sequence[str]) -> None:
        self._rows(
            "DELETE FROM order_leases WHERE order_id = ANY(%s) AND owner = %s",
            (list(order_ids), self.owner),
        )

    def release_all(self) -> None:
        self._rows("DELETE FROM order_leases WHERE owner = %s", (self.owner,))

    def lease(self, order_id: str) -> Lease | None:
        rows = self._rows(
            "SELECT order_id, owner, expires_at, token FROM order_leases WHERE order_id = %s",
            (order_id,),
        )
        return None if not rows else Lease(rows[0][0], rows[0][1], rows[0][2], int(rows[0][3]))

    def held(self) -> list[str]:
        rows = self._rows(
            "SELECT order_id FROM order_leases WHERE owner = %s "
            "AND expires_at >= clock_timestamp() ORDER BY order_id",
            (self.owner,),
        )
        return [str(r[0]) for r in rows]

    def prune(self) -> int:
        rows = self._rows(
            "DELETE FROM order_leases l WHERE NOT EXISTS (SELECT 1 FROM orders o "
            "WHERE o.order_id = l.order_id AND o.status = ANY(%s)) RETURNING l.order_id",
            (list(OPEN_STATUSES),),
        )
        return len(rows)

    # ------------------------------------------------------------ sends

    def begin_send(self, order_id: str, ttl: timedelta) -> SendGrant | None:
        """Claim ``order_id`` for ``ttl`` right before sending it, if it is still
        unsent (``PENDING`` / ``SUBMITTED``), and mark the send in flight. None when
        another process holds a live lease, or the order has moved on.

        ``previous_owner`` is who held the lease until now (None: nobody ever did);
        another owner may have sent the order before it stopped. The mark is a
        session lock that replays of the order wait on; while a replay holds it for a
        moment (shared, as it reads), the mark waits for the replay's step to end.
        """
        self._ttl = ttl
        accepted = self._accepted_at(order_id, ttl)
        with self._sending_lock:
            marked = order_id in self._sending
        if accepted is not None and not marked:
            grant = self._mark_accepted(order_id, accepted)
            if grant is not None:
                return grant
        # the claim and, when it is granted, the in-flight mark: one statement
        mark = "true" if marked else f"pg_try_advisory_lock({SENDING_KEY})"
        row = self._session.one(
            "WITH before AS (SELECT owner FROM order_leases WHERE order_id = %s), "
            "taken AS (INSERT INTO order_leases (order_id, owner, expires_at) "
            "SELECT order_id, %s, clock_timestamp() + %s FROM orders "
            "WHERE order_id = %s AND status IN ('PENDING', 'SUBMITTED') "
            f"{_UPSERT}) SELECT taken.token, (SELECT owner FROM before), {mark} FROM taken",
            (order_id, self.owner, ttl, order_id, *(() if marked else (order_id,))),
        )
        if row is None:
            return None
        grant = SendGrant(int(row[0]), None if row[1] is None else str(row[1]))
        if marked or row[2]:
            if not marked:
                with self._sending_lock:
                    self._sending.add(order_id)
            return grant
        deadline = time.monotonic() + 2.0
        while True:  # a replay holds the mark for a moment (shared, as it reads)
            got = self._session.one(f"SELECT pg_try_advisory_lock({SENDING_KEY})", (order_id,))
            if got is not None and got[0]:
                with self._sending_lock:
                    self._sending.add(order_id)
                break
            if time.monotonic() > deadline:  # a long replay: send unmarked, never block
                log.warning("send not marked in flight", order_id=order_id)
                break
            time.sleep(0.005)
        return grant

    def _mark_accepted(self, order_id: str, asked: float) -> SendGrant | None:
        """The in-flight mark of an order leased in its accept, if the lease is still
        ours and live (it is: it was made moments ago; else claim as usual)."""
        row = self._session.one(
            f"SELECT token, pg_try_advisory_lock({SENDING_KEY}) FROM order_leases "
            "WHERE order_id = %s AND owner = %s AND expires_at > clock_timestamp()",
            (order_id, order_id, self.owner),
        )
        if row is None:
            return None
        if not row[1]:  # a replay holds the mark for a moment: the usual path waits
            return None
        with self._sending_lock:
            self._sending.add(order_id)
        return SendGrant(int(row[0]), None, claimed_s_ago=time.monotonic() - asked)

    def end_send(self, order_id: str) -> None:
        """The send's answer is recorded (or the send given up): replays may read."""
        with self._sending_lock:
            if order_id not in self._sending:
                return
            self._sending.discard(order_id)
        self._session.one(f"SELECT pg_advisory_unlock({SENDING_KEY})", (order_id,))

    def sending(self) -> list[str]:
        with self._sending_lock:
            return sorted(self._sending)

    def hold_exclusive(self, role: str) -> bool:
        """Take ``role`` for this process's life (a session lock); False when another
        live process has it. Lost, and taken again on next use, if the server drops
        this process's session connection."""
        row = self._session.one(f"SELECT pg_try_advisory_lock({_EXCLUSIVE_KEY})", (role,))
        held = bool(row is not None and row[0])
        if held:
            self._session.roles.add(role)
        return held

    def close(self) -> None:
        self._session.close()
