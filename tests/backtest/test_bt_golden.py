"""Seeded backtests give byte-identical output across changes to the backtest's mechanics.

Each scenario is a fixed, seeded backtest; its report (``result.to_json()``), the event
log and the booked fills (both read back through the store port, whichever backend the
run used) are hashed and compared with the digests in ``golden_digests.json``, which
were produced by the code before the backtest backend existed. A change to a decision
(a fill price, a fee, a gate, an event payload) changes a digest and fails here; a
change of mechanics must not.

Regenerate (only when a decision is meant to change, and say so in the commit)::

    PYTHONPATH=src python tests/backtest/test_bt_golden.py --write
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.backtest.examples import Alternate, SmaCross
from ordergate.backtest.runner import BACKTEST_STORE, BacktestConfig, BacktestRunner
from ordergate.backtest.strategy import StrategyContext, StrategyFn
from ordergate.config import Settings
from ordergate.domain.market import Mark
from ordergate.domain.money import fmt
from ordergate.engine.engine import ExecutionEngine
from ordergate.risk.breakers import BreakerConfig
from ordergate.risk.config import RiskConfig
from ordergate.sim.data import Bar, MarketEvent, Quote, Trade
from ordergate.sim.tif import Session

GOLDEN = Path(__file__).with_name("golden_digests.json")
T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
D = Decimal
ALL = 1 << 62
LOOSE = RiskConfig(
    breakers=BreakerConfig(
        max_daily_loss=None,
        max_daily_drawdown_pct=None,
        max_trades_per_day=None,
        max_trades_per_strategy_per_day=None,
        max_loss_streak=None,
    ),
    duplicate_guard=None,
)


def marks(n: int, seed: int, symbols: tuple[str, ...] = ("AAA",)) -> list[MarketEvent]:
    rng = random.Random(seed)
    price = {s: D(100) for s in symbols}
    out: list[MarketEvent] = []
    for i in range(n):
        for s in symbols:
            price[s] = max(D(1), price[s] + D(rng.randint(-30, 30)) / 100)
            spread = D(rng.randint(1, 4)) / 100
            out.append(
                Mark(
                    symbol=s,
                    last=price[s],
                    bid=price[s] - spread,
                    ask=price[s] + spread,
                    volume=D(rng.randint(50, 5000)),
                    ts=T0 + timedelta(seconds=i),
                )
            )
    return out


def bars(n: int, seed: int, symbol: str = "BBB") -> list[MarketEvent]:
    rng = random.Random(seed)
    close = D(50)
    out: list[MarketEvent] = []
    for i in range(n):
        open_ = close
        close = max(D(1), close + D(rng.randint(-80, 80)) / 100)
        out.append(
            Bar(
                symbol=symbol,
                ts=T0 + timedelta(minutes=i + 1),
                open=open_,
                high=max(open_, close) + D(rng.randint(0, 40)) / 100,
                low=min(open_, close) - D(rng.randint(0, 40)) / 100,
                close=close,
                volume=D(rng.randint(1000, 20000)),
            )
        )
    return out


def quotes_and_trades(n: int, seed: int) -> list[MarketEvent]:
    rng = random.Random(seed)
    mid = D(20)
    out: list[MarketEvent] = []
    for i in range(n):
        mid = max(D(1), mid + D(rng.randint(-5, 5)) / 100)
        ts = T0 + timedelta(milliseconds=250 * i)
        out.append(
            Quote(
                symbol="QQQ",
                ts=ts,
                bid=mid - D("0.01"),
                ask=mid + D("0.01"),
                bid_size=D(rng.randint(100, 900)),
                ask_size=D(rng.randint(100, 900)),
            )
        )
        if i % 3 == 0:
            out.append(Trade(symbol="QQQ", ts=ts, price=mid, size=D(rng.randint(10, 400))))
    return out


class Mixed:
    """Seeded market and limit orders of both sides, some too far to fill, some invalid."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def __call__(self, event: MarketEvent, ctx: StrategyContext) -> Any:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            return None
        last = ctx.last(event.symbol) or D(100)
        side = "BUY" if rng.random() < 0.5 else "SELL"
        qty = rng.randint(1, 300)
        if roll < 0.7:
            return {"symbol": event.symbol, "side": side, "qty": qty}
        if roll < 0.95:
            off = D(rng.randint(-20, 60)) / 100
            px = (last - off) if side == "BUY" else (last + off)
            return {
                "symbol": event.symbol,
                "side": side,
                "qty": qty,
                "order_type": "LIMIT",
                "limit_price": str(px.quantize(D("0.01"))),
            }
        return {"symbol": event.symbol, "side": side, "qty": "0.5"}  # off the lot: rejected


@dataclass(frozen=True)
class Scenario:
    name: str
    data: Callable[[], list[MarketEvent]]
    strategy: Callable[[], StrategyFn]
    config: BacktestConfig
    risk: RiskConfig | None = LOOSE
    extra: dict[str, Any] = field(default_factory=dict)


SCENARIOS = [
    Scenario(
        "alternate-participation",
        lambda: marks(400, 1),
        lambda: Alternate().on_event,
        BacktestConfig(fill_model="participation"),
    ),
    Scenario(
        "alternate-summary-only",
        lambda: marks(600, 2, ("AAA", "ZZZ")),
        lambda: Alternate().on_event,
        BacktestConfig(fill_model="participation", detail=False, equity_points=50),
    ),
    Scenario(
        "sma-bars-latency",
        lambda: bars(500, 3),
        lambda: SmaCross(fast=3, slow=12).on_event,
        BacktestConfig(fill_model="fixed_bps", latency_ms=40_000, jitter_ms=30_000, seed=7),
    ),
    Scenario(
        "mixed-bidask-session",
        lambda: marks(500, 4, ("AAA", "CCC")),
        lambda: Mixed(5),
        BacktestConfig(
            fill_model="bid_ask",
            fee_model="bps",
            session=Session(close=time(14, 34), tz="UTC"),
        ),
    ),
    Scenario(
        "mixed-quotes-trades-default-gates",
        lambda: quotes_and_trades(700, 6),
        lambda: Mixed(8),
        BacktestConfig(fill_model="participation", participation=D("0.2"), fee_model="tiered"),
        risk=None,
    ),
    Scenario(
        "sma-sqrt-impact-sqlite",
        lambda: bars(300, 9),
        lambda: SmaCross(fast=4, slow=9, size=D(2500)).on_event,
        BacktestConfig(fill_model="sqrt_impact", fee_model="per_share", latency_ms=5),
        extra={"sqlite": True},
    ),
]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run_scenario(scenario: Scenario, tmp: Path, store_path: str = ":memory:") -> dict[str, str]:
    """The scenario's digests: report, event log, fills (read through the store port)."""
    if scenario.extra.get("sqlite"):
        store_path = str(tmp / "bt.db")
    # the backtest store's venue forgets final orders early: its retired path is in play
    config = BacktestConfig(
        **{**_fields(scenario.config), "store_path": store_path, "venue_keep_final": 8}
    )
    runner = BacktestRunner(config, settings=Settings(), risk=scenario.risk)
    engines: list[ExecutionEngine] = []
    build = runner.build

    def capture(start: datetime) -> Any:
        built = build(start)
        engines.append(built[1])
        return built

    runner.build = capture  # type: ignore[method-assign]
    result = runner.run(scenario.data(), scenario.strategy(), strategy_id=scenario.name)
    (engine,) = engines
    store = engine.store
    if scenario.extra.get("sqlite"):
        store = type(store)(config.store_path)  # type: ignore[call-arg]  # reopened: what is on disk
    events = [
        [m.id, m.topic, m.key, m.payload, m.created_at.isoformat()]
        for m in store.outbox_after(0, ALL)
    ]
    fills = [
        [
            f.order_id,
            f.exec_id,
            f.symbol,
            fmt(f.realized_gross),  # canonical text: what every store keeps
            fmt(f.commission),
            f.ts.isoformat(),
        ]
        for f in store.fills_since("")
    ]
    return {
        "report": _digest(result.to_json()),
        "events": _digest(json.dumps(events, separators=(",", ":"))),
        "fills": _digest(json.dumps(fills, separators=(",", ":"))),
        "orders": str(result.summary["orders"]),
        "events_count": str(len(events)),
    }


def _fields(config: BacktestConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


@pytest.mark.parametrize("store_path", [":memory:", BACKTEST_STORE])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_seeded_backtest_output_is_unchanged(
    scenario: Scenario, store_path: str, tmp_path: Path
) -> None:
    """On the in-memory store (the goldens' own) and on the backtest store alike."""
    golden = json.loads(GOLDEN.read_text())[scenario.name]
    assert run_scenario(scenario, tmp_path, store_path) == golden


def test_the_scenarios_trade_and_reject() -> None:
    """The goldens cover fills, resting limits, expiries and rejections (not empty runs)."""
    golden = json.loads(GOLDEN.read_text())
    assert set(golden) == {s.name for s in SCENARIOS}
    assert all(int(g["orders"]) > 20 and int(g["events_count"]) > 50 for g in golden.values())


if __name__ == "__main__":
    import tempfile

    if "--write" not in sys.argv:
        raise SystemExit("usage: test_bt_golden.py --write")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for s in SCENARIOS:
            (Path(tmp) / s.name).mkdir()
            out[s.name] = run_scenario(s, Path(tmp) / s.name)
            print(s.name, out[s.name], file=sys.stderr)
    GOLDEN.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
