"""Time for the resilience parts, injected so that tests never wait for real.

A :class:`Timer` answers "what time is it" (monotonic seconds) and "wait this long".
:class:`RealTimer` is the wall clock; :class:`FakeTimer` moves only when someone
sleeps on it or advances it, so a retry schedule of 1 s, 2 s, 4 s runs instantly in a
test and the waits can be read back from :attr:`FakeTimer.sleeps`.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Timer(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the caller for ``seconds``."""
        ...


class RealTimer:
    """``time.monotonic`` and ``time.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeTimer:
    """A timer for tests: sleeping advances it at once and is recorded."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self._now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
