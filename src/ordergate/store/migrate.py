"""Schema migrations with yoyo, on the store's own connection.

Each backend has a folder of numbered SQL files under ``store/migrations/``. yoyo keeps
the applied list in its own tables and takes a lock, so two processes starting at once
do not migrate twice. We hand yoyo the connection the store already has, which is also
what makes an in-memory SQLite store migratable.

A store whose schema is at head (every migration file is in yoyo's applied list) is
left alone without importing yoyo: one ``SELECT`` on the applied list, which keeps
a command's start-up short (issue 21). Anything else — the table missing, a file not
yet applied — takes yoyo's locked path, which decides again under the lock.

yoyo's lock is a row in ``yoyo_lock``: a process killed while migrating leaves it, and
every later start would wait ten seconds and fail with ``LockTimeout`` ("run yoyo
break-lock"). A lock nobody holds is taken back instead: on PostgreSQL every ordergate
migration first takes a session advisory lock (released by the server when the
connection dies), so a ``yoyo_lock`` row found while holding it is a dead process's; on
SQLite (a local file) the row's process id is checked for a live process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import Any

import structlog

MIGRATION_TABLE = "_yoyo_migration"
#: the PostgreSQL advisory lock every ordergate migration holds (``hashtext`` of a name)
_PG_MIGRATION_LOCK = "ordergate.migrate"

log = structlog.get_logger("ordergate.store")


def migrations_dir(dialect: str) -> str:
    return str(files("ordergate.store") / "migrations" / dialect)


def migration_ids(dialect: str) -> set[str]:
    """The ids yoyo gives this backend's migration files (the file name, no suffix:
    ``.sql`` and ``.py`` migrations alike, not rollbacks or yoyo's hooks)."""
    root = files("ordergate.store") / "migrations" / dialect
    ids = set()
    for entry in root.iterdir():
        name = entry.name
        if name.endswith(".rollback.sql") or name.startswith(("__", "post-apply")):
            continue
        if name.endswith((".sql", ".py")):
            ids.add(name.rsplit(".", 1)[0])
    return ids


def at_head(connection: Any, dialect: str) -> bool:
    """Whether every migration file is applied on ``connection`` (False when yoyo's
    table is not there yet, or cannot be read: the locked path then decides)."""
    try:
        rows = connection.execute(f"SELECT migration_id FROM {MIGRATION_TABLE}").fetchall()
    except Exception:  # the table is missing: a database yoyo has not met (any driver's error)
        if dialect == "sqlite":
            return False
        connection.rollback()  # a failed statement leaves a PostgreSQL transaction aborted
        return False
    return migration_ids(dialect) <= {row[0] for row in rows}


def apply_migrations(connection: Any, dialect: str, url: str) -> int:
    """Apply what is pending on ``connection``; return how many migrations ran."""
    if at_head(connection, dialect):
        return 0
    from yoyo import read_migrations
    from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
    from yoyo.backends.core.sqlite3 import SQLiteBackend
    from yoyo.connections import parse_uri

    base: type[Any] = SQLiteBackend if dialect == "sqlite" else PostgresqlPsycopgBackend

    class _OnConnection(base):  # type: ignore[misc, valid-type, unused-ignore]
        def connect(self, dburi: Any) -> Any:
            return connection

        def __exit__(self, *exc: object) -> None:
            """yoyo closes the connection of a copy; this one belongs to the store."""

    backend = _OnConnection(parse_uri(_yoyo_uri(dialect, url)), MIGRATION_TABLE)
    with _migrating(connection, dialect):
        backend.init_database()
        _take_back_a_dead_lock(backend, dialect)
        migrations = read_migrations(migrations_dir(dialect))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    return len(pending)


@contextmanager
def _migrating(connection: Any, dialect: str) -> Iterator[None]:
    """On PostgreSQL, hold the migration advisory lock (the connection is autocommit:
    a session lock, which the server releases should this process die)."""
    if dialect == "sqlite":
        yield
        return
    key = "hashtext(%s || current_schema())"  # one lock per schema
    connection.execute(f"SELECT pg_advisory_lock({key})", (_PG_MIGRATION_LOCK,))
    try:
        yield
    finally:
        connection.execute(f"SELECT pg_advisory_unlock({key})", (_PG_MIGRATION_LOCK,))


def _take_back_a_dead_lock(backend: Any, dialect: str) -> None:
    """Remove yoyo's lock row when the process that took it is gone (see module doc)."""
    with backend.transaction():
        rows = backend.execute(f"SELECT pid FROM {backend.lock_table_quoted}").fetchall()
    if not rows:
        return
    pid = int(rows[0][0])
    if dialect == "sqlite" and _alive(pid):
        return  # a live migration: yoyo's lock waits for it
    log.warning("a migration lock left by a dead process was taken back", pid=pid)
    backend.break_lock()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process holds no lock yet: the row is an earlier life's
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def _yoyo_uri(dialect: str, url: str) -> str:
    if dialect == "sqlite":
        return "sqlite:///ordergate"
    return "postgresql+psycopg://localhost/ordergate"
