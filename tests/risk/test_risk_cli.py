"""``kill-switch set|clear|list`` and ``plan`` through Typer's runner."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import typer
from typer.testing import CliRunner

from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.enums import TradingMode
from ordergate.engine import plan_cli
from ordergate.engine.engine import ExecutionEngine
from ordergate.risk import InMemoryKillSwitchRepository, KillSwitchBoard
from ordergate.risk.cli import register
from ordergate.store.sqlite import SqliteStore


def make_app(
    engine: ExecutionEngine | None = None,
) -> tuple[typer.Typer, InMemoryKillSwitchRepository]:
    repo = InMemoryKillSwitchRepository()
    clock = SimulatedClock()
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """test root"""

    def engine_factory(db: str | None) -> AbstractContextManager[ExecutionEngine]:
        if engine is None:
            raise AssertionError("this test needs no engine")
        return nullcontext(engine)

    register(app, lambda db, existing: nullcontext(KillSwitchBoard(repo, clock)))
    plan_cli.register(app, engine_factory, lambda db: TradingMode.PAPER)
    return app, repo


def test_kill_switch_set_list_clear() -> None:
    app, repo = make_app()
    runner = CliRunner()
    result = runner.invoke(
        app, ["kill-switch", "set", "SYMBOL", "aapl", "--reason", "news", "--actor", "alice"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("SYMBOL:AAPL ACTIVE by alice")
    listed = runner.invoke(app, ["kill-switch", "list", "--json"])
    assert [row["target"] for row in json.loads(listed.output)] == ["AAPL"]
    cleared = runner.invoke(
        app, ["kill-switch", "clear", "SYMBOL", "AAPL", "--reason", "ok", "--actor", "bob"]
    )
    assert cleared.exit_code == 0
    assert runner.invoke(app, ["kill-switch", "list"]).output == "no kill switch in force\n"
    assert [s.actor for s in repo.load_all()] == ["bob"]


def test_kill_switch_without_reason_fails() -> None:
    app, repo = make_app()
    result = CliRunner().invoke(app, ["kill-switch", "set", "GLOBAL", "--actor", "alice"])
    assert result.exit_code == 2
    assert repo.load_all() == []


def test_plan_prints_orders(tmp_path: Path) -> None:
    clock = SimulatedClock()
    store = SqliteStore(":memory:")
    store.migrate()
    engine = ExecutionEngine(store, PaperBroker(clock=clock), clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "200")
    engine.mark("MSFT", "100")
    engine.submit({"symbol": "MSFT", "side": "buy", "qty": "20", "key": "seed"})
    app, _ = make_app(engine)
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"AAPL": {"weight": "0.5"}, "MSFT": -10}))
    result = CliRunner().invoke(
        app, ["plan", "--targets", str(targets), "--equity", "10000", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["orders"]
    assert [(r["action"], r["symbol"], r["side"], r["qty"]) for r in rows] == [
        ("CLOSE", "MSFT", "SELL", "20"),
        ("OPEN_LONG", "AAPL", "BUY", "25"),
        ("OPEN_SHORT", "MSFT", "SELL", "10"),
    ]
    assert json.loads(result.output)["reports"] == []
    executed = CliRunner().invoke(
        app, ["plan", "--targets", str(targets), "--equity", "10000", "--execute"]
    )
    assert executed.exit_code == 0, executed.output
    assert {p.symbol: p.qty for p in engine.positions()} == {"AAPL": 25, "MSFT": -10}
    missing = CliRunner().invoke(app, ["plan", "--targets", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2
