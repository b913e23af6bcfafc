"""Time and ids, injected so that a backtest is deterministic (STYLE habit 12)."""

from __future__ import annotations

import itertools
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the engine asks what time it is."""

    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that moves only when told to: backtests and tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 2, 14, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when < self._now:
            raise ValueError(f"a simulated clock does not go back: {when} < {self._now}")
        self._now = when

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


class IdGenerator(Protocol):
    def next_id(self, prefix: str) -> str: ...


#: Ids whose random part one draw from ``os.urandom`` makes (one system call, not 256).
RANDOM_BLOCK = 256
#: Bumped in a forked child: a pool drawn before the fork is the parent's too, never used.
_forks = [0]


def _after_fork() -> None:
    _forks[0] += 1


os.register_at_fork(after_in_child=_after_fork)


class RandomIds:
    """Time-ordered unique ids (48-bit ms time + 80 random bits, like a ULID) in hex.

    The random bits come from ``os.urandom`` as before, drawn :data:`RANDOM_BLOCK` ids
    at a time: every id still has 80 bits of its own, used once; a forked child draws
    afresh (the parent's pool is the parent's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = ""  # the hex of the random parts not used yet
        self._at = 0
        self._forks = _forks[0]

    def next_id(self, prefix: str) -> str:
        ms = time.time_ns() // 1_000_000
        with self._lock:
            at = self._at
            if at >= len(self._pool) or self._forks != _forks[0]:
                self._pool, self._forks, at = os.urandom(10 * RANDOM_BLOCK).hex(), _forks[0], 0
            self._at = at + 20
            random_part = self._pool[at : at + 20]
        return f"{prefix}_{ms:012x}{random_part}"


class SequentialIds:
    """Deterministic ids for backtests: ``ord_000000000001``…"""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._counter):012d}"
