"""A circuit breaker per broker adapter: closed, open, half-open with one probe.

- **closed**: calls go through; ``failure_threshold`` consecutive failures open it.
- **open**: every call fails at once with ``E_EXEC_CIRCUIT_OPEN`` (retryable) for
  ``reset_timeout`` seconds — nothing reaches a broker that is not answering.
- **half-open**: the first caller after the timeout is the *probe*; everyone else
  still fails fast. The probe's success closes the breaker, its failure reopens it.

Only answers that say the broker is unhealthy count as failures (timeouts, refused
connections, 5xx, 429); a rejected order is a healthy answer. Listeners hear every
state change: metrics, and :class:`~ordergate.resilience.escalation.BreakerEscalation`
(the stored ``ops.broker.circuit_open`` alert and the kill switch when it stays open).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum

import structlog

from ordergate.domain.errors import BrokerError, ErrorCode
from ordergate.resilience.timing import RealTimer, Timer

log = structlog.get_logger("ordergate.resilience")


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(BrokerError):
    """The breaker is open: the call was not made."""

    default_code = ErrorCode.E_EXEC_CIRCUIT_OPEN


StateListener = Callable[[str, CircuitState, CircuitState], None]


class CircuitBreaker:
    """Thread-safe breaker; ``name`` is the adapter id it guards."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        timer: Timer | None = None,
    ) -> None:
        if failure_threshold < 1 or reset_timeout < 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout >= 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._timer = timer or RealTimer()
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_out = False
        self._opens_in_row = 0
        self._listeners: list[StateListener] = []

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._state

    def add_listener(self, listener: StateListener) -> None:
        self._listeners.append(listener)

    def snapshot(self) -> dict[str, object]:
        """What metrics show: ``exec_circuit_state{adapter}`` and the counters."""
        with self._lock:
            return {
                "adapter": self.name,
                "state": self._state.value,
                "consecutive_failures": self._failures,
                "opens_in_row": self._opens_in_row,
            }

    def before_call(self) -> None:
        """Let a call through, or raise :class:`CircuitOpen`."""
        changed: tuple[CircuitState, CircuitState] | None = None
        with self._lock:
            if self._state is CircuitState.OPEN:
                if self._timer.monotonic() - self._opened_at < self.reset_timeout:
                    raise self._open_error()
                changed = (self._state, CircuitState.HALF_OPEN)
                self._state = CircuitState.HALF_OPEN
                self._probe_out = True
            elif self._state is CircuitState.HALF_OPEN:
                if self._probe_out:
                    raise self._open_error()
                self._probe_out = True
        if changed:
            self._notify(*changed)

    def record_success(self) -> None:
        changed: tuple[CircuitState, CircuitState] | None = None
        with self._lock:
            self._failures = 0
            self._probe_out = False
            if self._state is not CircuitState.CLOSED:
                changed = (self._state, CircuitState.CLOSED)
                self._state = CircuitState.CLOSED
                self._opens_in_row = 0
        if changed:
            self._notify(*changed)

    def record_failure(self) -> None:
        changed: tuple[CircuitState, CircuitState] | None = None
        with self._lock:
            self._failures += 1
            probe_failed = self._state is CircuitState.HALF_OPEN
            if probe_failed or (
                self._state is CircuitState.CLOSED and self._failures >= self.failure_threshold
            ):
                changed = (self._state, CircuitState.OPEN)
                self._state = CircuitState.OPEN
                self._opened_at = self._timer.monotonic()
                self._probe_out = False
                self._opens_in_row += 1
        if changed:
            self._notify(*changed)

    def release_probe(self) -> None:
        """The probe ended with an answer that says nothing about health (a reject)."""
        with self._lock:
            if self._state is CircuitState.HALF_OPEN:
                self._probe_out = False

    def _open_error(self) -> CircuitOpen:
        return CircuitOpen(
            f"the circuit breaker for {self.name} is {self._state.value}; broker calls are blocked",
            context={"adapter": self.name, "state": self._state.value},
        )

    def _notify(self, old: CircuitState, new: CircuitState) -> None:
        log.warning("circuit breaker state change", adapter=self.name, old=old, new=new)
        for listener in self._listeners:
            listener(self.name, old, new)
