"""One live process per engine id (``ORDERGATE_ENGINE_ID``).

A configured engine id is the owner name of the process's order leases, so a process
restarted under the same id holds its in-flight orders again at once (a lease that is
"already ours" is taken back without waiting for it to expire). That is only safe
while no other live process uses the same id, so the id is locked for the life of
the process:

- SQLite: an exclusive ``flock`` on ``<database>.engine-<id>.lock`` beside the file
  (processes on one host share a SQLite file);
- PostgreSQL: a session advisory lock, on a connection of its own, keyed by the id.

Both are released by the operating system or the server when the process dies,
however it dies, so a killed engine never blocks its own restart. A second process
with the same id is refused at start, saying who holds the id.
"""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path
from typing import Any

from ordergate.domain.errors import ConfigError

#: the locks this process holds, by engine id (kept open until the process ends)
_HELD: dict[str, Any] = {}


def engine_lock_key(engine_id: str) -> int:
    """A signed 64-bit advisory lock key for ``engine_id`` (PostgreSQL)."""
    digest = hashlib.sha256(f"ordergate.engine\x1f{engine_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_engine_id(engine_id: str, *, sqlite_path: str | None, database_url: str) -> None:
    """Hold ``engine_id`` for this process, or raise :class:`ConfigError` naming the
    holder. Taking an id this process already holds is a no-op."""
    if engine_id in _HELD:
        return
    if sqlite_path == ":memory:":
        _HELD[engine_id] = None  # an in-memory store belongs to one process anyway
    elif sqlite_path is not None:
        _HELD[engine_id] = _flock(Path(sqlite_path), engine_id)
    else:
        _HELD[engine_id] = _advisory(database_url, engine_id)


def release_engine_id(engine_id: str) -> None:
    """Give the id up (tests; a process that ends releases it anyway)."""
    held = _HELD.pop(engine_id, None)
    if held is not None:
        held.close()


def _flock(database: Path, engine_id: str) -> Any:
    import fcntl

    path = database.with_name(f"{database.name}.engine-{engine_id}.lock")
    handle = path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigError(
            f"engine id {engine_id!r} is in use by a live process ({holder}); two processes "
            "with one id would act on the same orders — stop it or give this one another "
            "ORDERGATE_ENGINE_ID"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    handle.flush()
    return handle


def _advisory(database_url: str, engine_id: str) -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - the PostgreSQL store needs it first
        raise ConfigError("pip install 'ordergate[postgres]'") from exc
    conn = psycopg.connect(database_url, autocommit=True)
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (engine_lock_key(engine_id),)).fetchone()
    if not row or not row[0]:
        conn.close()
        raise ConfigError(
            f"engine id {engine_id!r} is in use by a live process on this database; two "
            "processes with one id would act on the same orders — stop it or give this one "
            "another ORDERGATE_ENGINE_ID"
        )
    return conn
