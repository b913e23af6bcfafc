"""Seed 004: the frozen snapshot, its hash, its decision tree, SL/TP from the fill,
and the scenarios that are about gates and brackets (1: success, 2: kill switch)."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderType, Side
from ordergate.domain.errors import ErrorCode, InvalidIntent
from ordergate.domain.market import Mark
from ordergate.domain.positions import Position
from ordergate.domain.snapshot import (
    FrozenSnapshot,
    bracket_for_fill,
    bracket_prices,
    slippage_pct,
)
from ordergate.engine.ports import GateContext
from ordergate.risk import (
    GateChain,
    InMemoryKillSwitchRepository,
    KillSwitchBoard,
    RiskConfig,
    RiskLedger,
    TradingControls,
    build_gate_chain,
)

NOW = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)
SEED = {
    "advisory_id": "ADV-001",
    "reference_price": "150.00",
    "sl_offset_pct": "-0.02",
    "tp_offset_pct": "0.03",
    "position_size": "100",
    "symbol": "AAPL",
    "expiration_timestamp": "2026-01-02T15:30:00Z",
}
SEED_HASH = "91830ab791dbf462184f42af416d283cf536d6d38e010ac054b7f6cb70b81545"


def snapshot(**changes: object) -> FrozenSnapshot:
    return dataclasses.replace(FrozenSnapshot.parse(SEED), **changes)  # type: ignore[arg-type]


def test_snapshot_is_frozen() -> None:
    snap = snapshot()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.position_size = Decimal(1)  # type: ignore[misc]


def test_hash_is_stable_and_canonical() -> None:
    canonical = (
        '{"account_id":"default","advisory_id":"ADV-001",'
        '"expiration_timestamp":"2026-01-02T15:30:00+00:00","position_size":"100",'
        '"reference_price":"150","side":"BUY","sl_offset_pct":"-0.02","strategy_id":"default",'
        '"symbol":"AAPL","tp_offset_pct":"0.03"}'
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == SEED_HASH
    assert snapshot().snapshot_hash() == SEED_HASH
    same_instant = datetime(2026, 1, 2, 10, 30, tzinfo=UTC) + timedelta(hours=5)
    same = snapshot(reference_price=Decimal("150"), expiration_timestamp=same_instant)
    assert same.snapshot_hash() == SEED_HASH
    assert snapshot(position_size=Decimal(101)).snapshot_hash() != SEED_HASH


@pytest.mark.parametrize(
    ("changes", "rule", "code"),
    [
        ({"expiration_timestamp": NOW}, "expiration_timestamp", ErrorCode.E_INTENT_EXPIRED),
        ({"advisory_id": "  "}, "advisory_id", ErrorCode.E_INTENT_INVALID),
        ({"position_size": Decimal(0)}, "position_size", ErrorCode.E_INTENT_INVALID),
        ({"position_size": Decimal(-5)}, "position_size", ErrorCode.E_INTENT_INVALID),
        ({"sl_offset_pct": Decimal(0)}, "sl_offset_pct", ErrorCode.E_INTENT_INVALID),
        ({"sl_offset_pct": Decimal("0.01")}, "sl_offset_pct", ErrorCode.E_INTENT_INVALID),
        ({"tp_offset_pct": Decimal(0)}, "tp_offset_pct", ErrorCode.E_INTENT_INVALID),
        ({"tp_offset_pct": Decimal("-0.01")}, "tp_offset_pct", ErrorCode.E_INTENT_INVALID),
    ],
)
def test_decision_tree_rejects(changes: dict[str, object], rule: str, code: ErrorCode) -> None:
    decision = snapshot(**changes).decide(NOW)
    assert not decision.approved
    assert (decision.rule, decision.code) == (rule, code)
    with pytest.raises(InvalidIntent) as caught:
        snapshot(**changes).to_intent(NOW)
    assert caught.value.code is code


def test_decision_tree_checks_in_order() -> None:
    everything_wrong = snapshot(expiration_timestamp=NOW, advisory_id="", position_size=Decimal(0))
    assert everything_wrong.decide(NOW).rule == "expiration_timestamp"
    assert snapshot(advisory_id="", position_size=Decimal(0)).decide(NOW).rule == "advisory_id"


def test_short_snapshot_mirrors_the_offsets() -> None:
    short = snapshot(side=Side.SELL, sl_offset_pct=Decimal("0.02"), tp_offset_pct=Decimal("-0.03"))
    assert short.decide(NOW).approved
    assert not snapshot(side=Side.SELL).decide(NOW).approved


def test_approved_snapshot_becomes_an_intent() -> None:
    intent = snapshot().to_intent(NOW)
    assert (intent.symbol, intent.side, intent.qty) == ("AAPL", Side.BUY, Decimal(100))
    assert intent.idempotency_key == f"snap-{SEED_HASH[:40]}"
    assert intent.expire_at == datetime(2026, 1, 2, 15, 30, tzinfo=UTC)
    assert (intent.sl_offset_pct, intent.tp_offset_pct) == (Decimal("-0.02"), Decimal("0.03"))
    assert intent.metadata["snapshot_hash"] == SEED_HASH
    assert intent.decision_id == "ADV-001"


def test_sl_tp_come_from_the_fill_not_the_reference() -> None:
    # seed 004 scenario 1 (its comment "148.96" is a typo: 151 × 0.98 = 147.98)
    sl, tp = bracket_prices(Side.BUY, Decimal("151.00"), Decimal("-0.02"), Decimal("0.03"))
    assert (sl, tp) == (Decimal("147.98"), Decimal("155.53"))
    ref_sl, _ = bracket_prices(Side.BUY, Decimal("150.00"), Decimal("-0.02"), Decimal("0.03"))
    assert ref_sl != sl
    assert slippage_pct(Side.BUY, Decimal(150), Decimal(151)).quantize(Decimal("0.01")) == Decimal(
        "0.67"
    )


def test_tick_rounding_goes_toward_the_fill() -> None:
    tick = Decimal("0.05")
    sl, tp = bracket_prices(
        Side.BUY, Decimal("151.37"), Decimal("-0.02"), Decimal("0.03"), tick_size=tick
    )
    # raw 148.3426 / 155.9111
    assert (sl, tp) == (Decimal("148.35"), Decimal("155.90"))
    sl, tp = bracket_prices(
        Side.SELL, Decimal("151.37"), Decimal("0.02"), Decimal("-0.03"), tick_size=tick
    )
    # raw 154.3974 / 146.8289
    assert (sl, tp) == (Decimal("154.35"), Decimal("146.85"))
    with pytest.raises(InvalidIntent):
        bracket_prices(Side.SELL, Decimal(100), Decimal("-0.02"), Decimal("0.03"))


def test_partial_fill_sizes_the_children_to_what_filled() -> None:
    bracket = bracket_for_fill(
        Side.BUY, Decimal(40), Decimal("151"), Decimal("-0.02"), Decimal("0.03")
    )
    assert bracket.stop_loss.qty == bracket.take_profit.qty == Decimal(40)
    assert bracket.stop_loss.side is bracket.take_profit.side is Side.SELL
    assert bracket.stop_loss.order_type is OrderType.STOP
    assert bracket.take_profit.order_type is OrderType.LIMIT
    assert (bracket.stop_loss.price, bracket.take_profit.price) == (
        Decimal("147.98"),
        Decimal("155.53"),
    )
    with pytest.raises(InvalidIntent):
        bracket_for_fill(Side.BUY, Decimal(0), Decimal(151), Decimal("-0.02"), Decimal("0.03"))


def _chain(clock: SimulatedClock) -> tuple[KillSwitchBoard, GateChain]:
    board = KillSwitchBoard(InMemoryKillSwitchRepository(), clock)
    controls = TradingControls(clock)
    chain = build_gate_chain(
        RiskConfig(), clock=clock, ledger=RiskLedger(), board=board, controls=controls
    )
    return board, chain


def _context() -> GateContext:
    mark = Mark(symbol="AAPL", last=Decimal("150.00"), ts=NOW)
    return GateContext(position=Position(symbol="AAPL"), mark=mark, open_orders_qty=Decimal(0))


def test_scenario_1_success_passes_the_gates() -> None:
    clock = SimulatedClock(NOW)
    _, chain = _chain(clock)
    assert chain.check(snapshot().to_intent(clock.now()), _context()) is None


def test_scenario_2_kill_switch_rejects_before_submission() -> None:
    clock = SimulatedClock(NOW)
    board, chain = _chain(clock)
    board.set("SYMBOL", "AAPL", "ACTIVE", reason="Risk limit exceeded", actor="risk")
    rejection = chain.check(snapshot().to_intent(clock.now()), _context())
    assert rejection is not None
    assert rejection.code is ErrorCode.E_RISK_KILL_SWITCH
    assert "Risk limit exceeded" in rejection.message


def test_kill_switch_after_fill_leaves_the_position_and_brackets() -> None:
    """Seed 004: activating a switch never closes a filled position; SL/TP stay."""
    clock = SimulatedClock(NOW)
    board = KillSwitchBoard(InMemoryKillSwitchRepository(), clock)
    position = Position(symbol="AAPL")
    position.apply_fill(Side.BUY, Decimal(100), Decimal(151), Decimal(0))
    bracket = bracket_for_fill(
        Side.BUY, Decimal(100), Decimal(151), Decimal("-0.02"), Decimal("0.03")
    )
    board.set("GLOBAL", reason="stop", actor="ops")
    assert position.qty == Decimal(100)
    assert bracket.stop_loss.price == Decimal("147.98")
    assert board.is_active("AAPL", "default")


def test_parse_requires_fields() -> None:
    data = dict(SEED)
    del data["symbol"]
    with pytest.raises(InvalidIntent):
        FrozenSnapshot.parse(data)
    with pytest.raises(InvalidIntent):
        FrozenSnapshot.parse({**SEED, "expiration_timestamp": "2026-01-02T15:30:00"})
