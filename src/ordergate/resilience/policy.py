"""``ResilientCall``: the engine's :class:`~ordergate.engine.ports.BrokerCallPolicy`.

Around every broker call, in this order (DESIGN.md steps 4-6):

1. ``submit`` only: the order throttle (``EXEC_MAX_ORDERS_PER_MIN``) — wait in line;
2. the broker's request rate limit — wait in line;
3. the circuit breaker — open means fail fast with ``E_EXEC_CIRCUIT_OPEN``;
4. the call, under the timeout guard when one is set (``EXEC_TIMEOUT_MS``);
5. the outcome told to the breaker: timeouts and "unavailable" count as failures,
   answers (even rejects) as health.

Retrying is *not* done here: whether a second submit could duplicate an order depends
on what the broker says when the order is looked up, which is the engine's business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ordergate.domain.errors import BrokerError, BrokerRejected, ErrorCode
from ordergate.resilience.breaker import CircuitBreaker
from ordergate.resilience.ratelimit import Limiter, WindowThrottle
from ordergate.resilience.retry import RetryPolicy
from ordergate.resilience.timeout import call_with_timeout
from ordergate.resilience.timing import RealTimer, Timer

T = TypeVar("T")

#: Operations that place an order and so count against the order throttle.
ORDER_OPERATIONS = frozenset({"submit"})


class ResilientCall:
    """Throttle, rate limit, circuit breaker and timeout around one adapter's calls."""

    def __init__(
        self,
        breaker: CircuitBreaker,
        *,
        rate_limit: Limiter | None = None,
        throttle: Limiter | None = None,
        timeout: float | None = None,
    ) -> None:
        self.breaker = breaker
        self.rate_limit = rate_limit
        self.throttle = throttle
        self.timeout = timeout

    def call(self, operation: str, fn: Callable[[], T]) -> T:
        if self.throttle is not None and operation in ORDER_OPERATIONS:
            self.throttle.acquire()
        if self.rate_limit is not None:
            self.rate_limit.acquire()
        self.breaker.before_call()
        try:
            if self.timeout is None:
                result = fn()
            else:
                result = call_with_timeout(fn, self.timeout, operation)
        except BrokerRejected:
            self.breaker.release_probe()
            raise
        except BrokerError as exc:
            if exc.code in (ErrorCode.E_EXEC_BROKER_TIMEOUT, ErrorCode.E_EXEC_BROKER_UNAVAILABLE):
                self.breaker.record_failure()
            else:
                self.breaker.release_probe()
            raise
        except Exception:
            self.breaker.record_failure()  # an adapter bug looks like an unhealthy broker
            raise
        self.breaker.record_success()
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class ResilienceConfig:
    """The knobs, with seed defaults: ``EXEC_TIMEOUT_MS`` 2000, 20 requests/s (seed 001),
    ``EXEC_MAX_ORDERS_PER_MIN`` 120, ``EXEC_MAX_RETRIES`` 0, breaker 5 failures / 30 s."""

    timeout_ms: int | None = 2000
    requests_per_second: int = 20
    max_orders_per_min: int = 120
    max_queue: int = 1000
    failure_threshold: int = 5
    reset_timeout_s: float = 30.0
    max_retries: int = 0
    retry_base_delay_s: float = 1.0


def build_call_policy(
    adapter_id: str, config: ResilienceConfig, timer: Timer | None = None
) -> ResilientCall:
    """The composition root's one-liner: a policy for the adapter named ``adapter_id``."""
    timer = timer or RealTimer()
    return ResilientCall(
        CircuitBreaker(
            adapter_id,
            failure_threshold=config.failure_threshold,
            reset_timeout=config.reset_timeout_s,
            timer=timer,
        ),
        rate_limit=WindowThrottle(
            config.requests_per_second,
            1.0,
            max_queue=config.max_queue,
            timer=timer,
            name="broker rate limit",
        ),
        throttle=WindowThrottle(
            config.max_orders_per_min, 60.0, max_queue=config.max_queue, timer=timer
        ),
        timeout=None if config.timeout_ms is None else config.timeout_ms / 1000,
    )


def build_retry(config: ResilienceConfig, timer: Timer | None = None) -> RetryPolicy:
    return RetryPolicy(
        max_retries=config.max_retries,
        base_delay=config.retry_base_delay_s,
        timer=timer or RealTimer(),
    )
