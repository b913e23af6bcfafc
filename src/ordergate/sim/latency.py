"""Latency: how long an order or a cancel takes to reach the simulated venue.

The venue holds each command until ``sent + delay`` in simulated time and only then
acts on it, so an order can only trade at prices that exist after it arrives. Jitter
comes from an injected, seeded :class:`random.Random` — never the global one — so a
run with the same seed arrives at the same microsecond.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

NO_DELAY = timedelta(0)


class LatencyModel(Protocol):
    def submit_delay(self) -> timedelta:
        """How long a new order takes to reach the venue."""
        ...

    def cancel_delay(self) -> timedelta:
        """How long a cancel takes to reach the venue."""
        ...


@dataclass(frozen=True, slots=True)
class NoLatency:
    """Orders and cancels arrive the moment they are sent (the paper broker's default)."""

    def submit_delay(self) -> timedelta:
        return NO_DELAY

    def cancel_delay(self) -> timedelta:
        return NO_DELAY


@dataclass(frozen=True, slots=True)
class FixedLatency:
    """The same delay every time; ``cancel`` defaults to ``submit``."""

    submit: timedelta
    cancel: timedelta | None = None

    def __post_init__(self) -> None:
        if self.submit < NO_DELAY or (self.cancel is not None and self.cancel < NO_DELAY):
            raise ValueError("a latency cannot be negative")

    def submit_delay(self) -> timedelta:
        return self.submit

    def cancel_delay(self) -> timedelta:
        return self.submit if self.cancel is None else self.cancel


@dataclass(frozen=True, slots=True)
class RandomLatency:
    """``base`` plus a uniform jitter of whole microseconds in ``[0, jitter]``."""

    base: timedelta
    jitter: timedelta
    rng: random.Random

    def __post_init__(self) -> None:
        if self.base < NO_DELAY or self.jitter < NO_DELAY:
            raise ValueError("a latency cannot be negative")

    def _draw(self) -> timedelta:
        span = self.jitter // timedelta(microseconds=1)
        return self.base + timedelta(microseconds=self.rng.randint(0, span))

    def submit_delay(self) -> timedelta:
        return self._draw()

    def cancel_delay(self) -> timedelta:
        return self._draw()
