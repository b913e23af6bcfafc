"""Schema migrations with yoyo, on the store's own connection.

Each backend has a folder of numbered SQL files under ``store/migrations/``. yoyo keeps
the applied list in its own tables and takes a lock, so two processes starting at once
do not migrate twice. We hand yoyo the connection the store already has, which is also
what makes an in-memory SQLite store migratable.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from yoyo import read_migrations
from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
from yoyo.backends.core.sqlite3 import SQLiteBackend
from yoyo.connections import parse_uri

MIGRATION_TABLE = "_yoyo_migration"


def migrations_dir(dialect: str) -> str:
    return str(files("ordergate.store") / "migrations" / dialect)


def apply_migrations(connection: Any, dialect: str, url: str) -> int:
    """Apply what is pending on ``connection``; return how many migrations ran."""
    base: type[Any] = SQLiteBackend if dialect == "sqlite" else PostgresqlPsycopgBackend

    class _OnConnection(base):  # type: ignore[misc, valid-type, unused-ignore]
        def connect(self, dburi: Any) -> Any:
            return connection

        def __exit__(self, *exc: object) -> None:
            """yoyo closes the connection of a copy; this one belongs to the store."""

    backend = _OnConnection(parse_uri(_yoyo_uri(dialect, url)), MIGRATION_TABLE)
    backend.init_database()
    migrations = read_migrations(migrations_dir(dialect))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return len(pending)


def _yoyo_uri(dialect: str, url: str) -> str:
    if dialect == "sqlite":
        return "sqlite:///ordergate"
    return "postgresql+psycopg://localhost/ordergate"
