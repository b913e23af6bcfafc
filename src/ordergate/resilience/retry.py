"""How often and how long to wait before a broker call is tried again.

Seed 001 scenario 3: up to three retries after 1 s, 2 s and 4 s (exponential backoff),
then give up. :class:`RetryPolicy` only knows the schedule and how to wait; *whether*
a retry is safe (it must never duplicate an order) is the engine's decision, made after
looking the order up at the broker — see ``ExecutionEngine._send``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ordergate.resilience.timing import RealTimer, Timer


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """``max_retries`` retries after the first attempt, waiting ``base * factor**n``.

    The default (no retries) is seed 000's ``EXEC_MAX_RETRIES=0`` for live trading;
    :meth:`seed_001` is the 1 s, 2 s, 4 s schedule.
    """

    max_retries: int = 0
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 30.0
    timer: Timer = field(default_factory=RealTimer, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.base_delay < 0 or self.factor < 1 or self.max_delay < 0:
            raise ValueError("delays must be >= 0 and the factor >= 1")

    @classmethod
    def seed_001(cls, timer: Timer | None = None) -> RetryPolicy:
        return cls(max_retries=3, base_delay=1.0, factor=2.0, timer=timer or RealTimer())

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        return float(min(self.max_delay, self.base_delay * self.factor ** (retry - 1)))

    def delays(self) -> list[float]:
        return [self.delay(n) for n in range(1, self.max_retries + 1)]

    def wait_before(self, retry: int) -> float:
        """Sleep before retry number ``retry``; return how long it waited."""
        seconds = self.delay(retry)
        self.timer.sleep(seconds)
        return seconds
