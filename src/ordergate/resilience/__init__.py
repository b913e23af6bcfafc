"""Around every broker call: timeout, retry schedule, circuit breaker, queues that wait."""

from ordergate.resilience.breaker import CircuitBreaker, CircuitOpen, CircuitState
from ordergate.resilience.policy import (
    ResilienceConfig,
    ResilientCall,
    build_call_policy,
    build_retry,
)
from ordergate.resilience.ratelimit import QueueFull, TokenBucket, WindowThrottle
from ordergate.resilience.retry import RetryPolicy
from ordergate.resilience.timing import FakeTimer, RealTimer, Timer

__all__ = [
    "CircuitBreaker",
    "CircuitOpen",
    "CircuitState",
    "FakeTimer",
    "QueueFull",
    "RealTimer",
    "ResilienceConfig",
    "ResilientCall",
    "RetryPolicy",
    "Timer",
    "TokenBucket",
    "WindowThrottle",
    "build_call_policy",
    "build_retry",
]
