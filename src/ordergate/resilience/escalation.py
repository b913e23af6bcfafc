"""What a circuit breaker's state changes lead to: a stored alert, and a kill switch.

:class:`BreakerEscalation` is a breaker listener (``breaker.add_listener``):

- **every opening** (closed → open, and a failed probe: half-open → open) records one
  ``ops.broker.circuit_open`` event through the outbox (``record_event``), so a relay
  publishes it and the audit trail keeps it. An order refused while the breaker is
  open records nothing more: the alert is about the broker, not about each order.
- **an outage that persists** (seed 000: "trigger kill-switch if persistent"): when the
  breaker opens again and has not closed for ``kill_after_s`` seconds since it first
  opened, a ``RISK_LIMIT`` kill switch ``circuit_breaker:<adapter>`` is set ACTIVE
  (every new intent is then refused with ``E_RISK_KILL_SWITCH`` until a person clears
  it) and ``risk.kill_switch_tripped`` is recorded. It trips once per outage: a person
  who clears the switch while the breaker is still open is not overruled; the count
  starts again once the breaker has closed.

The rule is checked at each opening, that is at each failed probe (one every
``EXEC_BREAKER_RESET_S``): with the defaults (5 failures, 30 s reset, 120 s bound) a
broker that answers nothing trips the switch at the first failed probe two minutes or
more after the first opening. ``EXEC_BREAKER_KILL_AFTER_S`` (``exec_breaker_kill_after_s``)
sets the bound; 0 turns the kill switch off (the events are still recorded).

A listener runs inside the breaker's caller, after a broker call and outside any unit
of work; a failure to record (the store is down) is logged and never replaces the
broker's own error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from ordergate.domain.events import CIRCUIT_OPEN_TOPIC, KILL_SWITCH_TRIPPED_TOPIC
from ordergate.resilience.breaker import CircuitState
from ordergate.resilience.timing import RealTimer, Timer

log = structlog.get_logger("ordergate.resilience")

#: (topic, key, body): records an event that belongs to no order, through the outbox
#: (``ExecutionEngine.record_event``).
RecordEvent = Callable[[str, str | None, Mapping[str, Any]], None]

#: Who the kill switch names as having set it.
ACTOR = "circuit_breaker"


class KillSwitches(Protocol):
    """The part of :class:`~ordergate.risk.killswitch.KillSwitchBoard` used here."""

    def set(self, kind: str, target: str, state: str, *, reason: str, actor: str) -> object: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationConfig:
    """``kill_after_s`` (default 120; 0 or None: never) — how long the breaker may stay
    away from closed before the kill switch is tripped."""

    kill_after_s: float | None = 120.0

    def __post_init__(self) -> None:
        if self.kill_after_s is not None and self.kill_after_s < 0:
            raise ValueError(f"kill_after_s must not be negative, got {self.kill_after_s}")

    @property
    def trips(self) -> bool:
        return bool(self.kill_after_s)


def switch_target(adapter: str) -> str:
    """The label of the RISK_LIMIT switch a breaker trips."""
    return f"circuit_breaker:{adapter}"


class BreakerEscalation:
    """A breaker listener: an event per opening, a kill switch when the outage persists."""

    def __init__(
        self,
        board: KillSwitches | None,
        record_event: RecordEvent,
        timer: Timer | None = None,
        config: EscalationConfig | None = None,
    ) -> None:
        self.board = board
        self.record_event = record_event
        self.timer = timer or RealTimer()
        self.config = config or EscalationConfig()
        self._lock = threading.Lock()
        #: adapter → monotonic time the breaker left CLOSED
        self._since: dict[str, float] = {}
        #: adapter → openings in this outage
        self._opens: dict[str, int] = {}
        self._tripped: set[str] = set()

    def __call__(self, adapter: str, old: CircuitState, new: CircuitState) -> None:
        if new is CircuitState.CLOSED:
            with self._lock:
                self._since.pop(adapter, None)
                self._opens.pop(adapter, None)
                self._tripped.discard(adapter)
            return
        if new is not CircuitState.OPEN:
            return
        now = self.timer.monotonic()
        board = self.board
        with self._lock:
            since = self._since.setdefault(adapter, now)
            opens = self._opens[adapter] = self._opens.get(adapter, 0) + 1
            open_for = now - since
            trip = (
                self.config.trips
                and board is not None
                and adapter not in self._tripped
                and open_for >= (self.config.kill_after_s or 0)
            )
            if trip:
                self._tripped.add(adapter)
        body = {
            "adapter": adapter,
            "state": new.value,
            "previous": old.value,
            "opens": opens,
            "open_for_s": round(open_for, 3),
        }
        self._record(CIRCUIT_OPEN_TOPIC, adapter, body)
        if trip and board is not None:
            self._trip(board, adapter, opens, open_for)

    def _trip(self, board: KillSwitches, adapter: str, opens: int, open_for: float) -> None:
        target = switch_target(adapter)
        reason = (
            f"the circuit breaker for {adapter} has not closed for {open_for:.0f}s "
            f"({opens} openings; bound {self.config.kill_after_s:g}s): broker unhealthy"
        )
        try:
            board.set("RISK_LIMIT", target, "ACTIVE", reason=reason, actor=ACTOR)
        except Exception:
            with self._lock:
                self._tripped.discard(adapter)  # try again at the next opening
            log.exception("could not set the kill switch for a persistent outage", adapter=adapter)
            return
        log.error("circuit breaker stays open: kill switch set", adapter=adapter, switch=target)
        body = {
            "kind": "RISK_LIMIT",
            "target": target,
            "state": "ACTIVE",
            "reason": reason,
            "actor": ACTOR,
            "adapter": adapter,
        }
        self._record(KILL_SWITCH_TRIPPED_TOPIC, target, body)

    def _record(self, topic: str, key: str, body: Mapping[str, Any]) -> None:
        try:
            self.record_event(topic, key, body)
        except Exception:
            log.exception("could not record a circuit breaker event", topic=topic, adapter=key)
