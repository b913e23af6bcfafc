"""Order leases in PostgreSQL (see :mod:`ordergate.store.leases` for the why).

Each operation is one statement, so two processes racing for an orphan settle it in the
database: the loser's ``INSERT … ON CONFLICT … WHERE expires_at < now`` finds a live
lease and takes nothing. Expiry is judged by the database's clock
(``clock_timestamp()``), never by a host's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import psycopg

from ordergate.store.leases import OPEN_STATUSES, Lease
from ordergate.store.postgres import PostgresStore, translate

_UPSERT = (
    "ON CONFLICT (order_id) DO UPDATE SET owner = excluded.owner, "
    "expires_at = excluded.expires_at "
    "WHERE order_leases.owner = excluded.owner OR order_leases.expires_at < clock_timestamp() "
    "RETURNING order_id"
)


class PostgresLeases:
    """The ``order_leases`` table of a :class:`PostgresStore`, for one owner."""

    def __init__(self, store: PostgresStore, owner: str) -> None:
        self.owner = owner
        self._store = store

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._store.connection() as conn:
            try:
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
            except psycopg.Error as exc:
                raise translate(exc) from exc

    def claim(self, order_ids: Sequence[str], ttl: timedelta) -> list[str]:
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
        rows = self._rows(
            "INSERT INTO order_leases (order_id, owner, expires_at) "
            "SELECT o.order_id, %s, clock_timestamp() + %s FROM orders o "
            "LEFT JOIN order_leases l ON l.order_id = o.order_id "
            "WHERE o.status = ANY(%s) "
            "AND (l.order_id IS NULL OR l.expires_at < clock_timestamp()) "
            "AND o.updated_at < clock_timestamp() - %s "
            "ORDER BY o.created_at, o.order_id LIMIT %s "
            f"{_UPSERT}",
            (self.owner, ttl, list(OPEN_STATUSES), ttl, limit),
        )
        return sorted(str(r[0]) for r in rows)

    def renew(self, ttl: timedelta) -> list[str]:
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
            "SELECT order_id, owner, expires_at FROM order_leases WHERE order_id = %s",
            (order_id,),
        )
        return None if not rows else Lease(rows[0][0], rows[0][1], rows[0][2])

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
