"""Kill switches (seed 004): who stopped what, why and when — checked before every order.

A switch is identified by ``(kind, target)``:

=============  ==========================================================
kind           target
=============  ==========================================================
``GLOBAL``     ``*`` — every order of every strategy
``SYMBOL``     a symbol (``AAPL``) — every order in it
``STRATEGY``   a strategy id — every order it sends
``RISK_LIMIT`` a label for the limit that tripped (``daily_loss``), account-wide
``MANUAL``     a label (``*`` by default) — an operator's emergency stop, account-wide
=============  ==========================================================

States: ``OFF`` (no effect), ``WARNING`` (orders proceed; the chain reports a warning),
``ACTIVE`` (orders are rejected with ``E_RISK_KILL_SWITCH``). Clearing a switch stores
it as ``OFF`` with who cleared it and why, so the row always says who touched it last.

Activating a switch never closes a position: it stops *new* intents only. Protective
children of an order already filled (its stop loss and take profit) are part of that
order and are not sent through the gate chain again.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from ordergate.clock import Clock
from ordergate.domain.errors import ConfigError, ErrorCode
from ordergate.domain.gates import GateContext, Rejection
from ordergate.domain.intent import OrderIntent
from ordergate.risk.base import reject

ANY = "*"
E = TypeVar("E", bound=StrEnum)


class KillSwitchKind(StrEnum):
    GLOBAL = "GLOBAL"
    SYMBOL = "SYMBOL"
    STRATEGY = "STRATEGY"
    RISK_LIMIT = "RISK_LIMIT"
    MANUAL = "MANUAL"


class KillSwitchState(StrEnum):
    OFF = "OFF"
    WARNING = "WARNING"
    ACTIVE = "ACTIVE"


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitch:
    """One switch as stored: a row of ``kill_switches``."""

    kind: KillSwitchKind
    target: str
    state: KillSwitchState
    reason: str
    actor: str
    updated_at: datetime

    @property
    def key(self) -> tuple[KillSwitchKind, str]:
        return (self.kind, self.target)

    def applies_to(self, symbol: str, strategy_id: str) -> bool:
        if self.kind is KillSwitchKind.SYMBOL:
            return self.target == symbol
        if self.kind is KillSwitchKind.STRATEGY:
            return self.target == strategy_id
        return True  # GLOBAL, RISK_LIMIT and MANUAL stop everything

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind.value,
            "target": self.target,
            "state": self.state.value,
            "reason": self.reason,
            "actor": self.actor,
            "updated_at": self.updated_at.isoformat(),
        }


class KillSwitchRepository(Protocol):
    """Where switches live. Maps 1:1 onto one table (SQLite shown; PostgreSQL alike)::

        CREATE TABLE kill_switches (
            kind        TEXT NOT NULL,   -- GLOBAL | SYMBOL | STRATEGY | RISK_LIMIT | MANUAL
            target      TEXT NOT NULL,   -- '*', a symbol, a strategy id or a limit label
            state       TEXT NOT NULL,   -- OFF | WARNING | ACTIVE
            reason      TEXT NOT NULL,
            actor       TEXT NOT NULL,
            updated_at  TEXT NOT NULL,   -- ISO 8601 with offset
            PRIMARY KEY (kind, target)
        );

    ``save`` is an upsert on ``(kind, target)``::

        INSERT INTO kill_switches (kind, target, state, reason, actor, updated_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (kind, target) DO UPDATE SET state = excluded.state,
            reason = excluded.reason, actor = excluded.actor, updated_at = excluded.updated_at;

    A backend that cannot write raises ``PersistenceError``; the board then keeps its
    previous view, so a switch is never shown as set when it was not stored.
    """

    def load_all(self) -> list[KillSwitch]:
        """Every stored switch, including those set to ``OFF``."""
        ...

    def save(self, switch: KillSwitch) -> None:
        """Insert or replace the switch with the same ``(kind, target)``."""
        ...


class InMemoryKillSwitchRepository:
    """The repository for tests, backtests and the paper broker."""

    def __init__(self, switches: Iterable[KillSwitch] = ()) -> None:
        self._rows = {switch.key: switch for switch in switches}

    def load_all(self) -> list[KillSwitch]:
        return list(self._rows.values())

    def save(self, switch: KillSwitch) -> None:
        self._rows[switch.key] = switch


class KillSwitchBoard:
    """The switches in force, read on every order from memory, written through."""

    def __init__(self, repository: KillSwitchRepository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock
        self._switches: dict[tuple[KillSwitchKind, str], KillSwitch] = {}
        #: the switches not OFF, kept beside ``_switches``: the gate reads only these,
        #: and on most desks there are none
        self._live: tuple[KillSwitch, ...] = ()
        self.refresh()

    def refresh(self) -> None:
        """Reload from the repository (another process may have set a switch)."""
        self._switches = {switch.key: switch for switch in self._repository.load_all()}
        self._relive()

    def _relive(self) -> None:
        self._live = tuple(s for s in self._switches.values() if s.state is not KillSwitchState.OFF)

    def set(
        self,
        kind: KillSwitchKind | str,
        target: str = ANY,
        state: KillSwitchState | str = KillSwitchState.ACTIVE,
        *,
        reason: str,
        actor: str,
    ) -> KillSwitch:
        """Set a switch to ``state``; ``reason`` and ``actor`` are required (who/why)."""
        kind = _parse(KillSwitchKind, kind, "kind")
        switch = KillSwitch(
            kind=kind,
            target=_target(kind, target),
            state=_parse(KillSwitchState, state, "state"),
            reason=_required(reason, "reason"),
            actor=_required(actor, "actor"),
            updated_at=self._clock.now(),
        )
        self._repository.save(switch)
        self._switches[switch.key] = switch
        self._relive()
        return switch

    def clear(
        self, kind: KillSwitchKind | str, target: str = ANY, *, reason: str, actor: str
    ) -> KillSwitch:
        """Turn a switch ``OFF``, recording who cleared it and why."""
        return self.set(kind, target, KillSwitchState.OFF, reason=reason, actor=actor)

    def list(self, *, include_off: bool = False) -> builtins.list[KillSwitch]:
        rows = self._switches.values()
        chosen = [s for s in rows if include_off or s.state is not KillSwitchState.OFF]
        return sorted(chosen, key=lambda s: (s.kind.value, s.target))

    def in_force(self, symbol: str, strategy_id: str) -> builtins.list[KillSwitch]:
        """Switches not ``OFF`` that cover this symbol and strategy, ACTIVE ones first."""
        if not self._live:
            return []
        hits = [switch for switch in self._live if switch.applies_to(symbol, strategy_id)]
        return sorted(hits, key=lambda s: (s.state is not KillSwitchState.ACTIVE, s.kind.value))

    def is_active(self, symbol: str = ANY, strategy_id: str = ANY) -> bool:
        """True when an ACTIVE switch stops orders in ``symbol`` from ``strategy_id``."""
        return any(s.state is KillSwitchState.ACTIVE for s in self.in_force(symbol, strategy_id))


class KillSwitchGate:
    """ACTIVE → ``E_RISK_KILL_SWITCH``; WARNING → proceed, reported as a warning."""

    name = "kill_switch"

    def __init__(self, board: KillSwitchBoard) -> None:
        self.board = board

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        if not self.board._live:  # no switch on (most orders): nothing to look through
            return None
        for switch in self.board.in_force(intent.symbol, intent.strategy_id):
            if switch.state is KillSwitchState.ACTIVE:
                return reject(
                    ErrorCode.E_RISK_KILL_SWITCH,
                    kind=switch.kind.value,
                    target=switch.target,
                    reason=switch.reason,
                    actor=switch.actor,
                )
        return None

    def warnings(self, intent: OrderIntent, context: GateContext) -> tuple[str, ...]:
        if not self.board._live:
            return ()
        switches = self.board.in_force(intent.symbol, intent.strategy_id)
        if not switches:
            return ()
        return tuple(
            f"kill switch {s.kind.value}:{s.target} is WARNING: {s.reason} ({s.actor})"
            for s in switches
            if s.state is KillSwitchState.WARNING
        )


def _parse(kind: type[E], value: E | str, name: str) -> E:
    try:
        return kind(str(value).strip().upper())
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise ConfigError(f"{name} must be one of {choices}; got {value!r}") from None


def _target(kind: KillSwitchKind, target: str) -> str:
    text = target.strip()
    if kind is KillSwitchKind.SYMBOL:
        text = text.upper()
    if kind in (KillSwitchKind.SYMBOL, KillSwitchKind.STRATEGY) and text in ("", ANY):
        raise ConfigError(f"a {kind.value} kill switch needs a target ({kind.value.lower()})")
    if kind is KillSwitchKind.GLOBAL and text not in ("", ANY):
        raise ConfigError("a GLOBAL kill switch has no target (use '*')")
    return text or ANY


def _required(value: str, name: str) -> str:
    text = value.strip()
    if not text:
        raise ConfigError(f"a kill switch needs a {name}")
    return text
