"""Kill switches: who/why/when, scope by kind, WARNING proceeds, ACTIVE rejects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.errors import ConfigError, ErrorCode
from ordergate.domain.intent import OrderIntent
from ordergate.engine.ports import GateContext
from ordergate.risk import (
    InMemoryKillSwitchRepository,
    KillSwitchBoard,
    KillSwitchGate,
    KillSwitchKind,
    KillSwitchState,
)

START = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)
IntentFactory = Callable[..., OrderIntent]
ContextFactory = Callable[..., GateContext]


@pytest.fixture
def board(clock: SimulatedClock) -> KillSwitchBoard:
    return KillSwitchBoard(InMemoryKillSwitchRepository(), clock)


def test_a_switch_records_who_why_and_when(board: KillSwitchBoard, clock: SimulatedClock) -> None:
    clock.advance(timedelta(minutes=5))
    switch = board.set("symbol", "aapl", "active", reason="Risk limit exceeded", actor="alice")
    assert switch.kind is KillSwitchKind.SYMBOL
    assert switch.target == "AAPL"
    assert switch.state is KillSwitchState.ACTIVE
    assert (switch.reason, switch.actor) == ("Risk limit exceeded", "alice")
    assert switch.updated_at == START + timedelta(minutes=5)
    assert switch.to_dict()["updated_at"] == "2026-01-02T14:35:00+00:00"


def test_symbol_switch_stops_only_its_symbol(board: KillSwitchBoard) -> None:
    board.set(KillSwitchKind.SYMBOL, "AAPL", reason="news", actor="alice")
    assert board.is_active("AAPL", "momo")
    assert not board.is_active("MSFT", "momo")


def test_strategy_switch_stops_only_its_strategy(board: KillSwitchBoard) -> None:
    board.set(KillSwitchKind.STRATEGY, "momo", reason="bug", actor="bob")
    assert board.is_active("AAPL", "momo")
    assert not board.is_active("AAPL", "meanrev")


@pytest.mark.parametrize("kind", ["GLOBAL", "RISK_LIMIT", "MANUAL"])
def test_account_wide_kinds_stop_everything(board: KillSwitchBoard, kind: str) -> None:
    board.set(kind, reason="stop", actor="ops")
    assert board.is_active("AAPL", "momo")
    assert board.is_active("MSFT", "other")


def test_clear_turns_off_and_keeps_who_cleared(board: KillSwitchBoard) -> None:
    board.set("GLOBAL", reason="outage", actor="alice")
    cleared = board.clear("GLOBAL", reason="resolved", actor="bob")
    assert cleared.state is KillSwitchState.OFF
    assert cleared.actor == "bob"
    assert not board.is_active("AAPL", "momo")
    assert board.list() == []
    assert [s.reason for s in board.list(include_off=True)] == ["resolved"]


def test_switches_survive_a_new_board_on_the_same_repository(clock: SimulatedClock) -> None:
    repo = InMemoryKillSwitchRepository()
    KillSwitchBoard(repo, clock).set("MANUAL", "desk", reason="fire drill", actor="carol")
    again = KillSwitchBoard(repo, clock)
    assert again.is_active("AAPL", "x")
    assert [(s.kind.value, s.target) for s in again.list()] == [("MANUAL", "desk")]


@pytest.mark.parametrize(
    ("kind", "target", "reason", "actor"),
    [
        ("SYMBOL", "*", "r", "a"),
        ("STRATEGY", "", "r", "a"),
        ("GLOBAL", "AAPL", "r", "a"),
        ("GLOBAL", "*", " ", "a"),
        ("GLOBAL", "*", "r", ""),
        ("NUCLEAR", "*", "r", "a"),
    ],
)
def test_bad_switches_are_refused(
    board: KillSwitchBoard, kind: str, target: str, reason: str, actor: str
) -> None:
    with pytest.raises(ConfigError):
        board.set(kind, target, reason=reason, actor=actor)
    assert board.list(include_off=True) == []


def test_gate_rejects_with_the_switch_in_the_context(
    board: KillSwitchBoard, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    board.set("SYMBOL", "AAPL", reason="Risk limit exceeded", actor="alice")
    rejection = KillSwitchGate(board).check(make_intent(), make_context())
    assert rejection is not None
    assert rejection.code is ErrorCode.E_RISK_KILL_SWITCH
    assert rejection.message == (
        "E_RISK_KILL_SWITCH: kind=SYMBOL target=AAPL reason=Risk limit exceeded actor=alice"
    )


def test_warning_proceeds_and_is_reported(
    board: KillSwitchBoard, make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    board.set("STRATEGY", "default", "WARNING", reason="slippage high", actor="risk")
    gate = KillSwitchGate(board)
    assert gate.check(make_intent(), make_context()) is None
    assert gate.warnings(make_intent(), make_context()) == (
        "kill switch STRATEGY:default is WARNING: slippage high (risk)",
    )


def test_active_outranks_warning(board: KillSwitchBoard) -> None:
    board.set("SYMBOL", "AAPL", "WARNING", reason="watch", actor="risk")
    board.set("MANUAL", reason="stop", actor="ops")
    states = [s.state for s in board.in_force("AAPL", "x")]
    assert states == [KillSwitchState.ACTIVE, KillSwitchState.WARNING]
