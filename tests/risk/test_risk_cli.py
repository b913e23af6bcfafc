"""``kill-switch set|clear|list`` and ``plan`` through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from ordergate.clock import SimulatedClock
from ordergate.risk import InMemoryKillSwitchRepository, KillSwitchBoard
from ordergate.risk.cli import register


def make_app() -> tuple[typer.Typer, InMemoryKillSwitchRepository]:
    repo = InMemoryKillSwitchRepository()
    clock = SimulatedClock()
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """test root"""

    register(app, lambda db: KillSwitchBoard(repo, clock))
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
    app, _ = make_app()
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"AAPL": {"weight": "0.5"}, "MSFT": -10}))
    positions = tmp_path / "positions.json"
    positions.write_text(json.dumps({"MSFT": "20"}))
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"AAPL": "200"}))
    result = CliRunner().invoke(
        app,
        ["plan", "--targets", str(targets), "--positions", str(positions),
         "--prices", str(prices), "--equity", "10000", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["action"], r["symbol"], r["side"], r["qty"]) for r in rows] == [
        ("CLOSE", "MSFT", "SELL", "20"),
        ("OPEN_LONG", "AAPL", "BUY", "25"),
        ("OPEN_SHORT", "MSFT", "SELL", "10"),
    ]
    bad = CliRunner().invoke(app, ["plan", "--targets", str(targets)])
    assert bad.exit_code == 2
