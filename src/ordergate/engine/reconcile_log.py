"""Where reconciliation reports are kept: a tiny port and its backends.

The reports table (migration ``0004_reconcile``) lives in the engine's database. The
SQLite backend writes it on a connection of its own, so reconciliation needs nothing
from the store's unit of work; PostgreSQL gets the same table and a backend of its own.
"""

from __future__ import annotations

import json
import sqlite3
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ordergate.domain.errors import PersistenceError


class ReconcileLog(Protocol):
    def save(self, report: dict[str, Any]) -> None:
        """Persist one report (``ReconcileReport.to_dict()``)."""
        ...

    def latest(self, limit: int = 20) -> list[dict[str, Any]]: ...

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        """The reports linked to ``order_id``, oldest first."""
        ...


class MemoryReconcileLog:
    """For ``:memory:`` stores and tests."""

    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []

    def save(self, report: dict[str, Any]) -> None:
        self.reports.append(report)

    def latest(self, limit: int = 20) -> list[dict[str, Any]]:
        return list(reversed(self.reports[-limit:]))

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        return [r for r in self.reports if r.get("order_id") == order_id]


class SqliteReconcileLog:
    """The ``reconcile_reports`` table of a SQLite store file."""

    def __init__(self, path: str) -> None:
        self._path = path

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=30, isolation_level=None)

    def save(self, report: dict[str, Any]) -> None:
        try:
            conn = self._connect()
            try:
                conn.execute(
                    "INSERT INTO reconcile_reports (report_id, created_at, status, "
                    "requires_manual_resolution, mismatches, payload, order_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    _row(report),
                )
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise PersistenceError(f"cannot record the reconciliation report: {exc}") from exc

    def latest(self, limit: int = 20) -> list[dict[str, Any]]:
        try:
            conn = self._connect()
            try:
                rows = conn.execute(
                    "SELECT payload FROM reconcile_reports ORDER BY created_at DESC LIMIT ?",
                    (limit,),
                ).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise PersistenceError(f"cannot read reconciliation reports: {exc}") from exc
        return [json.loads(row[0]) for row in rows]

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        try:
            conn = self._connect()
            try:
                rows = conn.execute(
                    "SELECT payload FROM reconcile_reports WHERE order_id = ? ORDER BY created_at",
                    (order_id,),
                ).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise PersistenceError(f"cannot read reconciliation reports: {exc}") from exc
        return [json.loads(row[0]) for row in rows]


class PooledReconcileLog:
    """The ``reconcile_reports`` table through a store's pooled ``connection()``
    (the PostgreSQL store has one; its driver takes ``%s`` parameters)."""

    def __init__(self, connection: Callable[[], AbstractContextManager[Any]]) -> None:
        self._connection = connection

    def save(self, report: dict[str, Any]) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO reconcile_reports (report_id, created_at, status, "
                "requires_manual_resolution, mismatches, payload, order_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                _row(report),
            )

    def latest(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT payload FROM reconcile_reports ORDER BY created_at DESC LIMIT %s",
                (limit,),
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT payload FROM reconcile_reports WHERE order_id = %s ORDER BY created_at",
                (order_id,),
            ).fetchall()
        return [json.loads(row[0]) for row in rows]


def _row(report: dict[str, Any]) -> tuple[Any, ...]:
    return (
        report["report_id"],
        report["created_at"],
        report["status"],
        int(bool(report["requires_manual_resolution"])),
        json.dumps(report["mismatches"]),
        json.dumps(report),
        report.get("order_id"),
    )


#: the in-memory log of each store that has no table (kept as long as the store lives)
_MEMORY_LOGS: weakref.WeakKeyDictionary[object, MemoryReconcileLog] = weakref.WeakKeyDictionary()


def reconcile_log_for(store: object) -> ReconcileLog:
    """The log that belongs with ``store``: its SQLite file, its pool, else one in
    memory that lives as long as the store."""
    path = getattr(store, "path", None)
    if isinstance(path, str) and path != ":memory:":
        return SqliteReconcileLog(path)
    connection = getattr(store, "connection", None)
    if callable(connection) and str(getattr(store, "url", "")).startswith("postgres"):
        return PooledReconcileLog(connection)
    log = _MEMORY_LOGS.get(store)
    if log is None:
        log = _MEMORY_LOGS[store] = MemoryReconcileLog()
    return log
