"""What the submit path no longer pays for, and the decisions that stay: the gate
context read only when a gate asks, a direct broker call only where no limit can act,
and the desk fed only what its armed breakers read."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.bootstrap import build_paper_broker, build_runtime
from ordergate.clock import SystemClock
from ordergate.config import Settings, load_settings
from ordergate.domain.gates import GateContext
from ordergate.domain.intent import OrderIntent
from ordergate.domain.positions import Position
from ordergate.engine.ports import DirectCall
from ordergate.resilience.policy import ResilientCall
from ordergate.store.memory import MemoryStore, MemoryUnitOfWork


def _settings(tmp_path: Path, **changes: Any) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{tmp_path / 'og.db'}", audit_dir=str(tmp_path / "a"), **changes
    )


def _buy(engine: Any, key: str, qty: str = "1") -> str:
    intent = {"symbol": "AAPL", "side": "buy", "qty": qty, "idempotency_key": key}
    report = engine.submit(intent)
    return f"{report.status.value} {report.error_code or ''}".strip()


def _engine(settings: Settings) -> Any:
    broker = build_paper_broker(settings, SystemClock(), persistent=False)
    runtime = build_runtime(settings, store=MemoryStore(), broker=broker)
    runtime.engine.mark("AAPL", "150.00", bid="149.99", ask="150.01", volume="1000000")
    return runtime


def test_a_context_reads_what_it_is_given_lazily_once() -> None:
    calls: list[str] = []

    def position() -> Position:
        calls.append("position")
        return Position(symbol="AAPL", qty=Decimal(5))

    def working() -> Decimal:
        calls.append("working")
        return Decimal(-2)

    context = GateContext(position=position, mark=None, open_orders_qty=working)
    assert calls == []
    assert context.position.qty == 5
    assert context.position.qty == 5
    assert context.open_orders_qty == -2
    assert context.open_orders_qty == -2
    assert calls == ["position", "working"]
    given = GateContext(position=Position(symbol="X"), mark=None, open_orders_qty=Decimal(1))
    assert given.position.symbol == "X"
    assert given.open_orders_qty == 1


def test_with_risk_off_no_gate_reads_the_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(_settings(tmp_path, risk_enabled=False)).engine
    reads: list[str] = []
    real = MemoryUnitOfWork.get_position

    def counted(self: MemoryUnitOfWork, account_id: str, symbol: str) -> Position:
        reads.append(symbol)
        return real(self, account_id, symbol)

    monkeypatch.setattr(MemoryUnitOfWork, "get_position", counted)
    assert _buy(engine, "k1") == "FILLED"
    assert reads == ["AAPL"]  # the fill's booking, not a gate


def test_reducing_only_still_sees_the_position_and_working_orders(tmp_path: Path) -> None:
    runtime = _engine(_settings(tmp_path, risk_enabled=False))
    engine, desk = runtime.engine, runtime.desk
    assert desk is not None
    assert _buy(engine, "open", "10") == "FILLED"
    desk.set_trading_state("REDUCING", actor="test", reason="reduce only")
    assert _buy(engine, "more") == "REJECTED E_RISK_REDUCE_ONLY"
    sell = {"symbol": "AAPL", "side": "sell", "qty": "4", "idempotency_key": "cut"}
    assert engine.submit(OrderIntent.parse(sell)).status.value == "FILLED"


def test_limits_no_engine_can_reach_give_the_paper_broker_a_direct_call(tmp_path: Path) -> None:
    out_of_the_way = _settings(
        tmp_path, exec_max_orders_per_min=1_000_000_000, exec_requests_per_second=1_000_000_000
    )
    assert isinstance(_engine(out_of_the_way).engine.policy, DirectCall)


@pytest.mark.parametrize(
    "changes",
    [
        {},  # the defaults: 120 orders a minute, 20 requests a second
        {"exec_max_orders_per_min": 1_000_000_000},
        {"exec_requests_per_second": 1_000_000_000},
    ],
    ids=["defaults", "rate-limit-kept", "throttle-kept"],
)
def test_a_limit_an_engine_can_reach_keeps_the_policy(
    tmp_path: Path, changes: dict[str, int]
) -> None:
    policy = _engine(_settings(tmp_path, **changes)).engine.policy
    assert isinstance(policy, ResilientCall)


def test_the_throttle_still_holds_orders_to_its_rate(tmp_path: Path) -> None:
    policy = _engine(_settings(tmp_path, exec_requests_per_second=1_000_000_000)).engine.policy
    assert isinstance(policy, ResilientCall)
    assert policy.throttle is not None
    assert policy.throttle.limit == 120  # type: ignore[attr-defined]


def _risk(**breakers: Any) -> dict[str, Any]:
    off: dict[str, Any] = {
        "max_daily_loss": None,
        "max_daily_drawdown_pct": None,
        "max_trades_per_day": None,
        "max_trades_per_strategy_per_day": None,
        "max_loss_streak": None,
    }
    return {"breakers": off | breakers, "duplicate_window_ms": None}


def test_no_armed_breaker_no_feed(tmp_path: Path) -> None:
    runtime = _engine(_settings(tmp_path, risk_enabled=True, risk=_risk()))
    assert runtime.desk is not None
    assert not runtime.desk.reads_fills
    assert not runtime.desk.reads_equity
    assert not runtime.engine.bus.has_subscribers("executions.report")
    assert _buy(runtime.engine, "k1") == "FILLED"
    assert runtime.desk.ledger.day("default", runtime.engine.trading_day()).trades == 0


def test_a_trade_count_breaker_is_fed_the_fills(tmp_path: Path) -> None:
    runtime = _engine(_settings(tmp_path, risk_enabled=True, risk=_risk(max_trades_per_day=2)))
    assert runtime.desk is not None
    assert runtime.desk.reads_fills
    assert not runtime.desk.reads_equity
    assert [_buy(runtime.engine, f"k{i}") for i in range(3)] == [
        "FILLED",
        "FILLED",
        "REJECTED E_RISK_MAX_TRADES",
    ]


def test_a_drawdown_limit_is_fed_the_equity_of_fills_and_marks(tmp_path: Path) -> None:
    risk = _risk(max_daily_drawdown_pct="0.02")
    runtime = _engine(_settings(tmp_path, risk_enabled=True, risk=risk))
    engine, desk = runtime.engine, runtime.desk
    assert desk is not None
    assert desk.reads_equity
    assert not desk.reads_fills
    assert _buy(engine, "long", "1500") == "FILLED"  # within 25 % of the equity
    engine.mark("AAPL", "135.00", bid="134.99", ask="135.01", volume="1000000")  # -2.25 %
    assert _buy(engine, "more") == "REJECTED E_RISK_DRAWDOWN"


def test_disarmed_breakers_stay_listed_and_let_go_an_armed_one_still_says_no() -> None:
    from ordergate.clock import SimulatedClock
    from ordergate.domain.market import Mark
    from ordergate.risk.breakers import BreakerConfig, DailyLossGate, MaxTradesGate
    from ordergate.risk.chain import GateChain
    from ordergate.risk.ledger import RiskLedger

    clock = SimulatedClock()
    ledger = RiskLedger()
    day = clock.now().date().isoformat()
    ledger.on_fill("s", "AAPL", Decimal(-10), clock.now(), day, closing=True, order_id="o1")
    off = BreakerConfig(max_daily_loss=None, max_trades_per_day=None)
    on = BreakerConfig(max_daily_loss=None, max_trades_per_day=1)
    intent = OrderIntent.parse({"idempotency_key": "k", "symbol": "AAPL", "side": "buy", "qty": 1})
    mark = Mark(symbol="AAPL", last=Decimal(100), ts=clock.now())
    context = GateContext(position=Position(symbol="AAPL"), mark=mark, open_orders_qty=Decimal(0))
    disarmed = GateChain([DailyLossGate(ledger, clock, off), MaxTradesGate(ledger, clock, off)])
    assert disarmed.names == ("daily_loss", "max_trades")  # listed, not asked
    assert disarmed.check(intent, context) is None
    armed = GateChain([DailyLossGate(ledger, clock, off), MaxTradesGate(ledger, clock, on)])
    rejection = armed.check(intent, context)
    assert rejection is not None
    assert rejection.code.name == "E_RISK_MAX_TRADES"
