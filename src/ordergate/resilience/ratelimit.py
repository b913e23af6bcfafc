"""Limits that *queue* callers instead of failing them (seed 001 scenario 6).

- :class:`WindowThrottle` — at most N in any window: the broker's request rate (seed 001:
  never more than 20 requests in any second) and ``EXEC_MAX_ORDERS_PER_MIN`` (120
  orders in any 60 s);
- :class:`TokenBucket` — a smooth rate with a saved-up burst, for brokers that meter
  that way (it may let ``2 × burst`` through across a window edge).

Both work by *reservation*: a caller takes the next free slot under a lock, then
sleeps outside it until that slot comes. Slots are handed out in arrival order, so the
queue is FIFO, and the waiting happens on the injected timer, so tests do not wait.
The queue is bounded: when ``max_queue`` callers are already waiting, the next one
gets :class:`QueueFull` (``E_EXEC_QUEUE_FULL``, retryable) instead of waiting forever.
A caller never sees a rate-limit error otherwise, but it is told when it is held: a
wait of :data:`NOTICE_AFTER_S` or more logs a warning with the wait before the caller
sleeps (``ordergate`` prints warnings on stderr), so the 121st order of a minute does not
block in silence.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

import structlog

from ordergate.domain.errors import ErrorCode, OrderGateError
from ordergate.resilience.timing import RealTimer, Timer

log = structlog.get_logger("ordergate.resilience")

#: A wait at least this long is logged (shorter ones are the normal pacing of a burst).
NOTICE_AFTER_S = 0.5


class Limiter(Protocol):
    def acquire(self) -> float:
        """Wait in line for a slot; return the seconds waited."""
        ...


class QueueFull(OrderGateError):
    default_code = ErrorCode.E_EXEC_QUEUE_FULL


class _Waiters:
    """Counts callers asleep in a limiter and refuses one past the bound."""

    def __init__(self, name: str, max_queue: int) -> None:
        self.name = name
        self.max_queue = max_queue
        self.count = 0

    def check(self) -> None:
        if self.count >= self.max_queue:
            raise QueueFull(
                f"{self.count} callers are already waiting for the {self.name}; send again later",
                context={"limiter": self.name, "waiting": self.count},
            )

    def notice(self, wait: float, limit: str) -> None:
        """Tell the caller (through the log) that it is held, for how long and why."""
        if wait >= NOTICE_AFTER_S:
            log.warning(
                f"held by the {self.name}: waiting {wait:.1f} s for a slot ({limit})",
                limiter=self.name,
                wait_s=round(wait, 3),
                waiting=self.count,
            )


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; callers queue for one."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        max_queue: int = 1000,
        timer: Timer | None = None,
        name: str = "broker rate limit",
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = rate
        self.burst = burst if burst is not None else rate
        self._timer = timer or RealTimer()
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._last = self._timer.monotonic()
        self._waiters = _Waiters(name, max_queue)
        self.waited_total = 0.0

    @property
    def waiting(self) -> int:
        with self._lock:
            return self._waiters.count

    def acquire(self) -> float:
        """Take one token, waiting in line for it; return the seconds waited."""
        with self._lock:
            now = self._timer.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            if wait > 0:
                self._waiters.check()
                self._waiters.count += 1
            self._tokens -= 1  # may go negative: a debt the later callers wait behind
        if wait <= 0:
            return 0.0
        self._waiters.notice(wait, f"{self.rate:g} per second")
        try:
            self._timer.sleep(wait)
        finally:
            with self._lock:
                self._waiters.count -= 1
                self.waited_total += wait
        return wait


class WindowThrottle:
    """At most ``limit`` grants in any ``window`` seconds; callers queue for a slot."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        max_queue: int = 1000,
        timer: Timer | None = None,
        name: str = "order throttle",
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._timer = timer or RealTimer()
        self._lock = threading.Lock()
        self._grants: deque[float] = deque(maxlen=limit)
        self._waiters = _Waiters(name, max_queue)

    def acquire(self) -> float:
        """Take the next slot, waiting in line for it; return the seconds waited."""
        with self._lock:
            now = self._timer.monotonic()
            at = now
            if len(self._grants) == self.limit:
                at = max(now, self._grants[0] + self.window)
            wait = at - now
            if wait > 0:
                self._waiters.check()
                self._waiters.count += 1
            self._grants.append(at)
        if wait <= 0:
            return 0.0
        self._waiters.notice(wait, f"{self.limit} in any {self.window:g} s")
        try:
            self._timer.sleep(wait)
        finally:
            with self._lock:
                self._waiters.count -= 1
        return wait

    def answered(self) -> None:
        """The call that took the newest slot has its answer: the slot counts from now.

        A request reaches the server somewhere between its send and its answer, so a
        window stamped at the send holds at the server only while the way there takes
        the same time for every request; stamped at the answer it holds whatever the
        delay (one request held up on a loaded machine, the next not). With several
        callers at once the newest slot may be another's: stamping it later only
        delays the next grant."""
        with self._lock:
            if self._grants:
                now = self._timer.monotonic()
                self._grants[-1] = max(self._grants[-1], now)
