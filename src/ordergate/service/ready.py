"""Readiness: can this service take an order *now*? (``GET /readyz``, beside ``/healthz``).

``/healthz`` says the process and its store answer a read (liveness). ``/readyz`` says an
order would get through: the store can **write** and the broker can be **reached**.
Each part is probed for real on every call:

- **store** (SQLite): the filesystem is writable and not full (``statvfs``: read-only
  mount, less than :data:`MIN_FREE_BYTES` free), then a real committed write on a
  connection of its own — ``BEGIN IMMEDIATE`` (fails on a lock held past
  :data:`LOCK_WAIT_S`), ``PRAGMA user_version`` rewritten with its own value (one page,
  changes nothing), ``COMMIT`` (fails on a read-only or full disk). Other stores: a unit of
  work is opened and closed.
- **broker**: the adapter's ``fetch_account()`` answers, and the circuit breaker is not
  open.

Probes run on a small pool of their own, so a hung probe never takes a request thread;
the answer comes within :data:`DEADLINE_S` whatever the probes do. A probe still
running from an earlier call is not started twice: that part reports itself busy.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ordergate.engine.engine import ExecutionEngine
from ordergate.service.circuit import circuit_of
from ordergate.store.base import Store
from ordergate.store.sqlite import SqliteStore

#: The longest ``/readyz`` takes to answer.
DEADLINE_S = 0.8
#: How long the store probe waits for another writer's lock.
LOCK_WAIT_S = 0.5
#: Less free space than this on the database's filesystem is "disk full".
MIN_FREE_BYTES = 1 << 20

Probe = Callable[[], None]
"""A probe returns when its part is ready and raises, saying why, when it is not."""


class NotReady(Exception):
    """A probe's answer: this part cannot do its job now, and why."""


class Readiness:
    """Runs every probe at once, each at most once at a time, within a deadline."""

    def __init__(self, probes: Mapping[str, Probe], *, deadline_s: float = DEADLINE_S) -> None:
        self._probes = dict(probes)
        self._deadline = deadline_s
        self._pool = ThreadPoolExecutor(max(1, len(probes)), thread_name_prefix="readyz")
        self._running: dict[str, tuple[Future[None], float]] = {}

    @classmethod
    def for_engine(cls, engine: ExecutionEngine) -> Readiness:
        """The store's write probe and the broker's reachability probe."""
        return cls({"store": store_probe(engine.store), "broker": broker_probe(engine)})

    async def check(self) -> dict[str, str]:
        """``{part: "ok" | why not}`` for every part, within the deadline."""
        started = time.monotonic()
        waiting: dict[str, Future[None]] = {}
        results: dict[str, str] = {}
        for name, probe in self._probes.items():
            running = self._running.get(name)
            if running is not None and not running[0].done():
                age = started - running[1]
                results[name] = f"the previous probe has not answered for {age:.1f} s"
                continue
            future = self._pool.submit(probe)
            self._running[name] = (future, started)
            waiting[name] = future
        if waiting:
            wrapped = [asyncio.wrap_future(f) for f in waiting.values()]
            await asyncio.wait(wrapped, timeout=self._deadline)
            for each in wrapped:  # the answer is read from the thread's future below
                each.add_done_callback(_settled)
            for name, future in waiting.items():
                results[name] = _outcome(future, self._deadline)
        return {name: results[name] for name in self._probes}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _settled(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _outcome(future: Future[None], deadline: float) -> str:
    if not future.done():
        return f"no answer within {deadline:.1f} s"
    error = future.exception()
    if error is None:
        return "ok"
    if isinstance(error, NotReady):
        return str(error)
    return f"{type(error).__name__}: {error}"


def store_probe(store: Store) -> Probe:
    """The write probe for ``store``: a real SQLite write, or a unit of work elsewhere."""
    path = getattr(store, "path", None)
    if isinstance(store, SqliteStore) and path != ":memory:":

        def sqlite_probe() -> None:
            store.check_writable()  # a failed group commit stops the store until a restart
            sqlite_write_probe(Path(store.path))

        return sqlite_probe
    if isinstance(path, str) and path != ":memory:":
        return lambda: sqlite_write_probe(Path(path))

    def unit_of_work() -> None:
        with store.transaction() as uow:
            uow.get_order("readyz")

    return unit_of_work


def sqlite_write_probe(path: Path, *, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """Raise :class:`NotReady` unless a write to the SQLite file at ``path`` commits now."""
    try:
        fs = os.statvfs(path.parent)
    except OSError as exc:
        raise NotReady(f"the database directory cannot be read: {exc.strerror}") from exc
    if fs.f_flag & os.ST_RDONLY:
        raise NotReady(f"the database's filesystem is mounted read-only ({path.parent})")
    free = fs.f_bavail * fs.f_frsize
    if free < min_free_bytes:
        raise NotReady(f"the disk is full: {free} bytes free, at least {min_free_bytes} needed")
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw",
            uri=True,
            timeout=LOCK_WAIT_S,
            isolation_level=None,
        )
    except sqlite3.Error as exc:
        raise NotReady(f"the database cannot be opened for writing: {exc}") from exc
    try:
        conn.execute("BEGIN IMMEDIATE")
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        conn.execute(f"PRAGMA user_version = {int(version)}")
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise NotReady(f"a write did not commit: {exc}") from exc
    finally:
        conn.close()


def broker_probe(engine: ExecutionEngine) -> Probe:
    def probe() -> None:
        state = str(circuit_of(engine).get("state", "closed"))
        if state == "open":
            raise NotReady(f"the circuit breaker of {engine.broker.adapter_id} is open")
        try:
            engine.broker.fetch_account()
        except Exception as exc:
            raise NotReady(f"{engine.broker.adapter_id} did not answer: {exc}") from exc

    return probe
