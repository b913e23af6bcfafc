"""Where reconciliation reports are kept, with what people did about them: a tiny port
and its backends.

The reports table (migration ``0004_reconcile``) lives in the engine's database. The
SQLite backend writes it on a connection of its own, so reconciliation needs nothing
from the store's unit of work; PostgreSQL gets the same table and a backend of its own.

A person's **resolution** of a report (who, when, what was done, a note) is a row of
``reconcile_resolutions`` (migration ``0010_reconcile_resolutions``): append-only like
the reports (triggers refuse UPDATE and DELETE), several per report, and a resolution
never edits its report. A resolution for a report that is not stored is refused with
``E_RECONCILE_NOT_FOUND``; the check and the insert are one statement.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ordergate.domain.errors import ErrorCode, OrderGateError, PersistenceError


class ReportNotFound(OrderGateError):
    """No reconciliation report with this id is stored."""

    default_code = ErrorCode.E_RECONCILE_NOT_FOUND


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """What a person did about one reconciliation report: a row, written once."""

    resolution_id: str
    report_id: str
    resolved_at: datetime
    actor: str
    action: str
    note: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "resolution_id": self.resolution_id,
            "report_id": self.report_id,
            "resolved_at": self.resolved_at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "note": self.note,
        }


def report_not_found(report_id: str) -> ReportNotFound:
    return ReportNotFound(
        f"no reconciliation report {report_id}; list them with `ordergate reconcile list`",
        context={"report_id": report_id},
    )


def _resolution(row: tuple[Any, ...]) -> Resolution:
    at = row[2] if isinstance(row[2], datetime) else datetime.fromisoformat(row[2])
    return Resolution(
        resolution_id=row[0], report_id=row[1], resolved_at=at, actor=row[3], action=row[4],
        note=row[5],
    )  # fmt: skip


_RESOLUTION_COLUMNS = "resolution_id, report_id, resolved_at, actor, action, note"


class ReconcileLog(Protocol):
    def save(self, report: dict[str, Any]) -> None:
        """Persist one report (``ReconcileReport.to_dict()``)."""
        ...

    def latest(self, limit: int = 20) -> list[dict[str, Any]]: ...

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        """The reports linked to ``order_id``, oldest first."""
        ...

    def get(self, report_id: str) -> dict[str, Any] | None:
        """The stored report, or None."""
        ...

    def add_resolution(self, resolution: Resolution) -> None:
        """Append a resolution; raise :class:`ReportNotFound` when its report is not stored."""
        ...

    def resolutions(self, report_id: str) -> list[Resolution]:
        """The report's resolutions, oldest first."""
        ...


class MemoryReconcileLog:
    """For ``:memory:`` stores and tests."""

    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []
        self._resolutions: list[Resolution] = []
        self._lock = threading.Lock()

    def save(self, report: dict[str, Any]) -> None:
        with self._lock:
            self.reports.append(report)

    def latest(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            return list(reversed(self.reports[-limit:]))

    def get(self, report_id: str) -> dict[str, Any] | None:
        with self._lock:
            return next((r for r in self.reports if r["report_id"] == report_id), None)

    def add_resolution(self, resolution: Resolution) -> None:
        with self._lock:
            if not any(r["report_id"] == resolution.report_id for r in self.reports):
                raise report_not_found(resolution.report_id)
            self._resolutions.append(resolution)

    def resolutions(self, report_id: str) -> list[Resolution]:
        with self._lock:
            return [r for r in self._resolutions if r.report_id == report_id]

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

    def _query(self, sql: str, params: tuple[Any, ...], what: str) -> list[tuple[Any, ...]]:
        try:
            conn = self._connect()
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise PersistenceError(f"cannot read {what}: {exc}") from exc

    def get(self, report_id: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT payload FROM reconcile_reports WHERE report_id = ?",
            (report_id,),
            "the reconciliation report",
        )
        return json.loads(rows[0][0]) if rows else None

    def add_resolution(self, resolution: Resolution) -> None:
        r = resolution
        try:
            conn = self._connect()
            try:
                added = conn.execute(
                    f"INSERT INTO reconcile_resolutions ({_RESOLUTION_COLUMNS}) "
                    "SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS "
                    "(SELECT 1 FROM reconcile_reports WHERE report_id = ?)",
                    (r.resolution_id, r.report_id, r.resolved_at.isoformat(), r.actor, r.action,
                     r.note, r.report_id),
                ).rowcount  # fmt: skip
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise PersistenceError(f"cannot record the resolution: {exc}") from exc
        if not added:
            raise report_not_found(r.report_id)

    def resolutions(self, report_id: str) -> list[Resolution]:
        rows = self._query(
            f"SELECT {_RESOLUTION_COLUMNS} FROM reconcile_resolutions WHERE report_id = ? "
            "ORDER BY resolved_at, resolution_id",
            (report_id,),
            "resolutions",
        )
        return [_resolution(row) for row in rows]


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

    def get(self, report_id: str) -> dict[str, Any] | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT payload FROM reconcile_reports WHERE report_id = %s", (report_id,)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def add_resolution(self, resolution: Resolution) -> None:
        r = resolution
        with self._connection() as conn:
            added = conn.execute(
                f"INSERT INTO reconcile_resolutions ({_RESOLUTION_COLUMNS}) "
                "SELECT %s, %s, %s, %s, %s, %s WHERE EXISTS "
                "(SELECT 1 FROM reconcile_reports WHERE report_id = %s)",
                (r.resolution_id, r.report_id, r.resolved_at, r.actor, r.action, r.note,
                 r.report_id),
            ).rowcount  # fmt: skip
        if not added:
            raise report_not_found(r.report_id)

    def resolutions(self, report_id: str) -> list[Resolution]:
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {_RESOLUTION_COLUMNS} FROM reconcile_resolutions WHERE report_id = %s "
                "ORDER BY resolved_at, resolution_id",
                (report_id,),
            ).fetchall()
        return [_resolution(tuple(row)) for row in rows]


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


#: The in-memory log of each store that has no file or server: one per store, so that a
#: report saved by one call is there for the next (a resolution, a listing).
_MEMORY_LOGS: weakref.WeakKeyDictionary[object, MemoryReconcileLog] = weakref.WeakKeyDictionary()
_MEMORY_LOCK = threading.Lock()


def reconcile_log_for(store: object) -> ReconcileLog:
    """The log that belongs with ``store``: its SQLite file, its pool, else its memory."""
    path = getattr(store, "path", None)
    if isinstance(path, str) and path != ":memory:":
        return SqliteReconcileLog(path)
    connection = getattr(store, "connection", None)
    if callable(connection) and str(getattr(store, "url", "")).startswith("postgres"):
        return PooledReconcileLog(connection)
    with _MEMORY_LOCK:
        log = _MEMORY_LOGS.get(store)
        if log is None:
            log = _MEMORY_LOGS[store] = MemoryReconcileLog()
        return log
