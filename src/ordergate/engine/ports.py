"""What the engine plugs in at the steps of the submit path it does not own.

- step 3, pre-trade gates: a :class:`PreTradeCheck` (the risk chain is one);
- steps 4-6, around the broker call: a :class:`BrokerCallPolicy` (timeout, retry,
  circuit breaker, rate limit — the resilience package provides one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from ordergate.domain.gates import (
    GateContext,
    InstrumentInfo,
    IntentAdjuster,
    PreTradeCheck,
    Rejection,
    WarningCheck,
)

__all__ = [
    "BrokerCallPolicy",
    "DirectCall",
    "GateContext",
    "InstrumentInfo",
    "IntentAdjuster",
    "PreTradeCheck",
    "Rejection",
    "WarningCheck",
]

T = TypeVar("T")


class BrokerCallPolicy(Protocol):
    def call(self, operation: str, fn: Callable[[], T]) -> T:
        """Run one broker call under the policy; raise the translated broker error."""
        ...


class DirectCall:
    """No policy: call the broker as is (paper broker, backtests)."""

    def call(self, operation: str, fn: Callable[[], T]) -> T:
        return fn()
