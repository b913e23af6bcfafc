"""A connection of our own to the store's database, for operator commands.

``audit verify`` and ``purge`` run beside a live ``ordergate serve``: they open their
own SQLite connection (WAL lets them read while the service writes; a purge waits for
the write lock like any other writer) instead of reaching into the store's.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ordergate.config import Settings
from ordergate.domain.errors import ConfigError, PersistenceError


def open_sqlite(settings: Settings, *, busy_timeout_ms: int = 30_000) -> sqlite3.Connection:
    """Open the configured SQLite file (migrated by the store beforehand)."""
    path = settings.sqlite_path
    if path is None:
        raise ConfigError(
            "audit verify and purge work on the SQLite store; for PostgreSQL run them "
            "against a SQLite export or use the store's own tooling"
        )
    if path == ":memory:" or not Path(path).exists():
        raise ConfigError(f"no database file at {path!r}")
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    except sqlite3.Error as exc:
        raise PersistenceError(f"cannot open {path}: {exc}") from exc
    return conn
