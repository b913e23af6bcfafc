"""A connection of our own to the store's database, for operator commands.

``audit verify`` and ``purge`` run beside a live ``ordergate serve``: they open their
own connection (SQLite's WAL lets them read while the service writes; a purge waits for
the write lock like any other writer) instead of reaching into the store's, on SQLite
or PostgreSQL (:func:`open_chain`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ordergate.config import Settings
from ordergate.domain.errors import ConfigError, PersistenceError
from ordergate.obs.audit import ChainStore, PostgresChain, SqliteChain


def open_sqlite(settings: Settings, *, busy_timeout_ms: int = 30_000) -> sqlite3.Connection:
    """Open the configured SQLite file (migrated by the store beforehand)."""
    path = settings.sqlite_path
    if path is None:
        raise ConfigError(f"{settings.database_url!r} is not a SQLite database")
    if path == ":memory:" or not Path(path).exists():
        raise ConfigError(f"no database file at {path!r}")
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    except sqlite3.Error as exc:
        raise PersistenceError(f"cannot open {path}: {exc}") from exc
    return conn


@contextmanager
def open_chain(settings: Settings) -> Iterator[ChainStore]:
    """The audit chain of the configured database, SQLite or PostgreSQL."""
    if settings.sqlite_path is not None:
        conn = open_sqlite(settings)
        try:
            yield SqliteChain(conn)
        finally:
            conn.close()
        return
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - the postgres extra brings it
        raise ConfigError(
            "a postgresql:// database needs: pip install 'ordergate[postgres]'"
        ) from exc
    url = settings.database_url
    if url.startswith("postgresql+"):  # SQLAlchemy-style driver suffix: libpq wants none
        url = "postgresql://" + url.split("://", 1)[1]
    try:
        pg = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise PersistenceError(f"cannot connect to PostgreSQL: {exc}") from exc
    try:
        yield PostgresChain(pg)
    finally:
        pg.close()
