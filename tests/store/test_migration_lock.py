"""A process killed while migrating does not lock every later start out.

yoyo's lock is a row; SIGKILL leaves it, and yoyo then waits ten seconds and fails with
``LockTimeout`` on every start. The child below is really killed in the middle of
applying migrations, and the next start must migrate at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ordergate.store.migrate import at_head

from .pg import fresh_schema, server_url

_CHILD = textwrap.dedent(
    """
    import sys, time
    from yoyo.backends.base import DatabaseBackend

    def stuck(self, migrations, *args, **kwargs):
        print("migrating", flush=True)
        time.sleep(120)

    DatabaseBackend.apply_migrations = stuck
    kind, url = sys.argv[1], sys.argv[2]
    if kind == "sqlite":
        from ordergate.store.sqlite import SqliteStore
        SqliteStore(url).migrate()
    else:
        from ordergate.store.postgres import PostgresStore
        PostgresStore(url, min_size=1, max_size=1).migrate()
    """
)


def _killed_mid_migration(kind: str, url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, kind, url],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "migrating", f"the child did not start migrating: {line!r}"
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    child.stdout.close()


def test_sqlite_start_after_a_kill_mid_migration(tmp_path: Path) -> None:
    import sqlite3

    from ordergate.store.sqlite import SqliteStore

    path = str(tmp_path / "og.db")
    _killed_mid_migration("sqlite", path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone()[0] == 1
    store = SqliteStore(path)
    store.migrate()  # the dead lock left in place: yoyo waits 10 s, then LockTimeout
    store.close()
    with sqlite3.connect(path) as conn:
        assert at_head(conn, "sqlite")
        assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone()[0] == 0


def test_postgres_start_after_a_kill_mid_migration() -> None:
    import psycopg

    from ordergate.store.postgres import PostgresStore

    with fresh_schema(server_url()) as url:
        _killed_mid_migration("postgresql", url)
        store = PostgresStore(url, min_size=1, max_size=1)
        store.migrate()  # the dead lock left in place: yoyo waits 10 s, then LockTimeout
        store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            assert at_head(conn, "postgresql")
            assert conn.execute("SELECT count(*) FROM yoyo_lock").fetchone()[0] == 0


def test_a_live_migration_is_waited_for(tmp_path: Path) -> None:
    """The lock of a live process stays: only a dead one's is taken back."""
    import sqlite3

    from yoyo.exceptions import LockTimeout

    from ordergate.store.migrate import _alive

    assert _alive(os.getppid())
    path = str(tmp_path / "og.db")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE yoyo_lock (locked INT DEFAULT 1, ctime TIMESTAMP, pid INT NOT NULL,"
            " PRIMARY KEY (locked))"
        )
        conn.execute("INSERT INTO yoyo_lock VALUES (1, '2026-01-01', ?)", (os.getppid(),))
    pytest.importorskip("yoyo")
    from ordergate.store import migrate

    with sqlite3.connect(path, isolation_level=None) as conn:  # as the store's
        from yoyo.backends import base

        original = base.DatabaseBackend.lock

        def quick(self: object, timeout: int = 10) -> object:
            return original(self, timeout=1)  # type: ignore[arg-type]

        base.DatabaseBackend.lock = quick  # type: ignore[method-assign, assignment]
        try:
            with pytest.raises(LockTimeout):
                migrate.apply_migrations(conn, "sqlite", path)
        finally:
            base.DatabaseBackend.lock = original  # type: ignore[method-assign]
