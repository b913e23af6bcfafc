"""Keeping Python's cycle collector off what a long run has already built.

CPython's cycle collector is triggered by allocations, and every so often walks every
object still alive. Two of ordergate's runs keep many objects alive, almost none of
which ever become garbage:

- a **backtest** on the in-memory store keeps every order, fill and event of the run.
  Full collections come each time the heap has grown by a quarter, so they cost tens
  of microseconds per order, and more the longer the run (``bench/bench_backtest.py``).
  :class:`FreezeLongLived` moves every tracked object into the collector's permanent
  generation (:func:`gc.freeze`, which costs the same however much is moved) every
  ``every`` events, so a collection only looks at what the last few events made, and
  gives them all back (:func:`gc.unfreeze`) when the run ends;
- **serve** builds its application, settings and imported modules once and keeps them
  to the end; :func:`freeze_startup` moves them out of the collector's sight, so a
  full collection while orders are flowing walks only what was allocated since.

Reference counting frees everything as usual; only a *cycle* that becomes garbage
after a freeze waits for the end of the run (or, in serve, is never collected if it
was made before start-up ended). A strategy that builds many long-lived cycles can turn
the backtest's freezing off (``BacktestConfig(freeze_gc=False)``).

:class:`FreezeLongLived` stands aside when the collector is off or something else has
frozen objects (a server that froze its start-up objects): their unfreeze is theirs.
"""

from __future__ import annotations

import gc
from types import TracebackType


def freeze_startup() -> None:
    """Collect once, then leave every object alive now out of later collections."""
    gc.collect()
    gc.freeze()


#: Events between two freezes: young collections still see a thousand events' objects.
EVERY = 1000


class FreezeLongLived:
    """A context around a run; :meth:`tick` once per event."""

    def __init__(self, enabled: bool = True, every: int = EVERY) -> None:
        self.enabled = enabled
        self.every = max(1, every)
        self.active = False
        self._count = 0

    def __enter__(self) -> FreezeLongLived:
        self.active = self.enabled and gc.isenabled() and gc.get_freeze_count() == 0
        self._count = 0
        return self

    def tick(self) -> None:
        if self.active:
            self._count += 1
            if self._count >= self.every:
                self._count = 0
                gc.freeze()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.active:
            self.active = False
            gc.unfreeze()


class CollectorSchedule:
    """``serve``'s full collections, every ``interval_s`` in a daemon thread.

    The composition root keeps full collections from starting inside a submit
    (``bootstrap.ENGINE_THRESHOLDS``); what the server's own libraries leave as cycles
    (asyncio, uvicorn, HTTP clients) is collected here instead, at a known rhythm, with
    how long it took and what it freed logged. Since :func:`freeze_startup`, a full
    collection walks only what was allocated after start-up.
    """

    def __init__(self, interval_s: float) -> None:
        import threading

        self.interval_s = interval_s
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gc-collect", daemon=True)

    def start(self) -> None:
        if self.interval_s > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def collect(self) -> int:
        import time

        import structlog

        started = time.perf_counter()
        freed = gc.collect()
        self.runs += 1
        structlog.get_logger("ordergate.heap").info(
            "full collection",
            freed=freed,
            ms=round((time.perf_counter() - started) * 1000, 2),
            tracked=len(gc.get_objects()),
        )
        return freed

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.collect()
