"""Time and ids, injected so that a backtest is deterministic (STYLE habit 12)."""

from __future__ import annotations

import itertools
import os
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


class RandomIds:
    """Time-ordered unique ids (48-bit ms time + 80 random bits, like a ULID) in hex."""

    def next_id(self, prefix: str) -> str:
        ms = time.time_ns() // 1_000_000
        return f"{prefix}_{ms:012x}{os.urandom(10).hex()}"


class SequentialIds:
    """Deterministic ids for backtests: ``ord_000000000001``…"""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._counter):012d}"
