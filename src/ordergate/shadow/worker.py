"""Off the submit path: a bounded queue and one worker thread.

The real engine's bus calls :meth:`ShadowWorker.offer` in the thread that committed the
order, after the commit. ``offer`` never blocks and never raises: a full queue drops
the event and counts it (the count is kept in the twin's ``shadow_meta`` table by the
worker, and the report shows it). The one worker thread applies events in the order
they were offered, so the twin sees orders and marks in the real engine's order.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger("ordergate.shadow")

#: Events waiting for the twin before new ones are dropped.
DEFAULT_QUEUE_SIZE = 10_000

Item = tuple[Callable[[Any], None], Any]


class ShadowWorker:
    """Applies ``(handler, payload)`` items in a thread of its own."""

    def __init__(
        self,
        *,
        maxsize: int = DEFAULT_QUEUE_SIZE,
        on_dropped: Callable[[int], None] | None = None,
        name: str = "ordergate-shadow",
    ) -> None:
        self._queue: queue.Queue[Item | None] = queue.Queue(maxsize)
        self._on_dropped = on_dropped
        self._drop_lock = threading.Lock()
        self.dropped = 0
        #: drops not yet handed to ``on_dropped``
        self._unreported = 0
        self.applied = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def offer(self, handler: Callable[[Any], None], payload: Any) -> bool:
        """Queue one item; False (and counted) when the queue is full. Never blocks."""
        try:
            self._queue.put_nowait((handler, payload))
        except queue.Full:
            with self._drop_lock:
                self.dropped += 1
                self._unreported += 1
            return False
        return True

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every item offered so far is applied (tests, a clean stop)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            time.sleep(0.002)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Apply what is queued (up to ``timeout``), then stop the thread."""
        self.drain(timeout)
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.warning("shadow queue not drained at stop", backlog=self.backlog)
            return
        self._thread.join(timeout)
        self._report_drops()  # drops after the last item applied

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                handler, payload = item
                try:
                    handler(payload)
                    self.applied += 1
                except Exception:  # one bad event never stops the twin
                    self.failed += 1
                    log.exception("shadow event not applied", handler=handler.__name__)
                self._report_drops()
            finally:
                self._queue.task_done()
            # hand the GIL over between items: a submitting thread waiting for it gets it
            # now, not at the end of the interpreter's switch interval (5 ms)
            time.sleep(0)

    def _report_drops(self) -> None:
        if not self._unreported or self._on_dropped is None:
            return
        with self._drop_lock:
            count, self._unreported = self._unreported, 0
        try:
            self._on_dropped(count)
        except Exception:
            log.exception("shadow drop count not recorded", dropped=count)
            with self._drop_lock:
                self._unreported += count
