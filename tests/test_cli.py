"""The command line, as a user types it (issue 2's session)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ordergate.cli import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "cli.db")


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def run_json(*args: str, code: int = 0) -> Any:
    return json.loads(run(*args, "--json", code=code))


def test_issue_2_session(db: str) -> None:
    run(
        "mark",
        "AAPL",
        "--last",
        "150.00",
        "--bid",
        "149.99",
        "--ask",
        "150.01",
        "--volume",
        "100000",
        "--db",
        db,
    )
    args = (
        "submit",
        "--symbol",
        "AAPL",
        "--side",
        "buy",
        "--qty",
        "100",
        "--type",
        "market",
        "--key",
        "k-001",
        "--db",
        db,
    )
    first = run_json(*args)
    again = run_json(*args)
    assert first["status"] == "FILLED"
    assert again["order_id"] == first["order_id"]
    assert again["replayed"] is True
    orders = run_json("orders", "--db", db)
    assert [o["order_id"] for o in orders] == [first["order_id"]]
    order = run_json("order", first["order_id"], "--db", db)
    assert [e["to"] for e in order["events"]][:2] == ["PENDING", "SUBMITTED"]
    assert order["fills"][0]["last_px"] == "150.075"
    positions = run_json("positions", "--db", db)
    assert positions[0]["qty"] == "100"
    assert positions[0]["unrealized_pnl"] == "-7.5"
    pnl = run_json("pnl", "--db", db)
    assert pnl["realized_pnl"] == "-1"  # the commission
    assert "AAPL" in run("orders", "--db", db)
    assert "AAPL" in run("positions", "--db", db)
    assert "realized_pnl" in run("pnl", "--db", db)


def test_conflict_and_bad_input_exit_with_codes(db: str) -> None:
    run("mark", "AAPL", "--last", "10", "--db", db)
    run("submit", "--symbol", "AAPL", "--side", "buy", "--qty", "1", "--key", "k", "--db", db)
    out = run_json(
        "submit",
        "--symbol",
        "AAPL",
        "--side",
        "buy",
        "--qty",
        "2",
        "--key",
        "k",
        "--db",
        db,
        code=2,
    )
    assert out["error"]["code"] == "E_EXEC_IDEMPOTENCY_CONFLICT"
    out = run_json(
        "submit",
        "--symbol",
        "AAPL",
        "--side",
        "buy",
        "--qty",
        "-2",
        "--key",
        "k2",
        "--db",
        db,
        code=2,
    )
    assert out["error"]["code"] == "E_INTENT_INVALID"
    assert "qty" in out["error"]["message"]
    assert "E_INTENT_INVALID" in run(
        "submit",
        "--symbol",
        "AAPL",
        "--side",
        "up",
        "--qty",
        "1",
        "--key",
        "k3",
        "--db",
        db,
        code=2,
    )
    out = run_json("order", "ord_missing", "--db", db, code=2)
    assert out["error"]["code"] == "E_ORDER_NOT_FOUND"


def test_limit_rest_cancel_and_sync(db: str) -> None:
    run("mark", "MSFT", "--last", "400", "--db", db)
    rest = run_json(
        "submit",
        "--symbol",
        "MSFT",
        "--side",
        "buy",
        "--qty",
        "5",
        "--type",
        "limit",
        "--price",
        "390",
        "--key",
        "l1",
        "--db",
        db,
    )
    assert rest["status"] == "ACCEPTED"
    assert run_json("sync", "--db", db)["checked"] == 1
    assert run_json("cancel", rest["order_id"], "--db", db)["status"] == "CANCELED"
    open_orders = run_json("orders", "--status", "accepted", "--db", db)
    assert open_orders == []


def test_limit_fills_on_a_later_mark_in_another_process(db: str) -> None:
    """The paper book is shared between CLI processes."""
    run("mark", "AAPL", "--last", "150", "--db", db)
    rest = run_json(
        "submit",
        "--symbol",
        "AAPL",
        "--side",
        "sell",
        "--qty",
        "10",
        "--type",
        "limit",
        "--price",
        "152",
        "--key",
        "s1",
        "--db",
        db,
    )
    subprocess.run(
        [sys.executable, "-m", "ordergate.cli", "mark", "AAPL", "--last", "152.5", "--db", db],
        check=True,
        capture_output=True,
    )
    order = run_json("order", rest["order_id"], "--db", db)
    assert order["status"] == "FILLED"


def test_kill_switch_blocks_then_clears(db: str) -> None:
    run("mark", "AAPL", "--last", "10", "--db", db)
    run("kill-switch", "set", "GLOBAL", "--reason", "drill", "--actor", "ops", "--db", db)
    listed = run_json("kill-switch", "list", "--db", db)
    assert listed[0]["kind"] == "GLOBAL"
    blocked = run_json(
        "submit",
        "--symbol",
        "AAPL",
        "--side",
        "buy",
        "--qty",
        "1",
        "--key",
        "b1",
        "--db",
        db,
        code=2,
    )
    assert blocked["error_code"] == "E_RISK_KILL_SWITCH"
    run("kill-switch", "clear", "GLOBAL", "--reason", "done", "--actor", "ops", "--db", db)
    ok = run_json(
        "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "1", "--key", "b2", "--db", db
    )
    assert ok["status"] == "FILLED"


def test_plan_previews_then_executes_once(db: str, tmp_path: Path) -> None:
    run("mark", "AAPL", "--last", "100", "--db", db)
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"AAPL": {"qty": "30"}}))
    preview = run_json("plan", "--targets", str(targets), "--db", db)
    assert preview["reports"] == []
    assert preview["orders"][0]["qty"] == "30"
    done = run_json("plan", "--targets", str(targets), "--execute", "--db", db)
    assert done["reports"][0]["status"] == "FILLED"
    again = run_json("plan", "--targets", str(targets), "--execute", "--db", db)
    assert again["orders"] == []
    assert run_json("positions", "--db", db)[0]["qty"] == "30"


def test_demo_and_config(db: str) -> None:
    demo = run_json("demo")
    assert any("E_EXEC_IDEMPOTENCY_CONFLICT" in step for step in demo["steps"])
    assert len(demo["orders"]) == 3
    assert "the same order" in run("demo")
    shown = json.loads(run("config", "show", "--db", db))
    assert shown["exec_timeout_ms"] == 2000
    assert shown["slippage_bps"] == "5"


def test_config_from_env_and_yaml(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "og.yaml"
    config.write_text("execution:\n  slippage_bps: 7.5\n  use_bid_ask_spread: true\n")
    monkeypatch.setenv("ORDERGATE_CONFIG", str(config))
    monkeypatch.setenv("ORDERGATE_EXEC_MAX_ORDERS_PER_MIN", "60")
    monkeypatch.setenv("ORDERGATE_API_TOKEN", "s3cret-token")
    shown = json.loads(run("config", "show", "--db", db))
    assert shown["slippage_bps"] == "7.5"
    assert shown["use_bid_ask_spread"] is True
    assert shown["exec_max_orders_per_min"] == 60
    assert shown["api_token"] == "***"
    monkeypatch.setenv("ORDERGATE_EXEC_TIMEOUT_MS", "-1")
    out = run("config", "show", "--db", db, code=2)
    assert "exec_timeout_ms" in out


def test_trading_halt_reduce_and_emergency(db: str) -> None:
    run("mark", "AAPL", "--last", "10", "--db", db)
    run("submit", "--symbol", "AAPL", "--side", "buy", "--qty", "10", "--key", "t0", "--db", db)
    shown = run_json(
        "trading", "set", "HALTED", "--actor", "ops", "--reason", "exchange down", "--db", db
    )
    assert shown["state"]["value"] == "HALTED"
    halted = run_json(
        "submit",
        "--symbol",
        "AAPL",
        "--side",
        "sell",
        "--qty",
        "1",
        "--key",
        "t1",
        "--db",
        db,
        code=2,
    )
    assert halted["error_code"] == "E_RISK_TRADING_HALTED"
    run("trading", "set", "REDUCING", "--actor", "ops", "--reason", "wind down", "--db", db)
    more = run_json(
        "submit",
        "--symbol",
        "AAPL",
        "--side",
        "buy",
        "--qty",
        "1",
        "--key",
        "t2",
        "--db",
        db,
        code=2,
    )
    assert more["error_code"] == "E_RISK_REDUCE_ONLY"
    less = run_json(
        "submit", "--symbol", "AAPL", "--side", "sell", "--qty", "4", "--key", "t3", "--db", db
    )
    assert less["status"] == "FILLED"
    run("trading", "set", "NORMAL", "--actor", "ops", "--reason", "back", "--db", db)
    run("trading", "emergency", "--on", "--actor", "risk", "--reason", "black swan", "--db", db)
    assert json.loads(run("trading", "show", "--db", db))["posture"]["value"] == "EMERGENCY"
    blocked = run_json(
        "submit",
        "--symbol",
        "AAPL",
        "--side",
        "buy",
        "--qty",
        "1",
        "--key",
        "t4",
        "--db",
        db,
        code=2,
    )
    assert blocked["error_code"] == "E_RISK_REDUCE_ONLY"
    out = run_json(
        "trading", "set", "SIDEWAYS", "--actor", "x", "--reason", "y", "--db", db, code=2
    )
    assert out["error"]["code"] == "E_CONFIG_INVALID"


def test_serve_without_the_service_extra_says_what_to_install(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ordergate.service.cli as service_cli

    monkeypatch.setattr(service_cli, "find_spec", lambda name: None)
    out = run("serve", "--db", db, code=2)
    assert "E_CONFIG_INVALID" in out
    assert "ordergate[service]" in out


def test_emergency_makes_a_reducing_limit_marketable(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seed 002's Black Swan: with make_limits_marketable on, a resting sell limit that
    reduces the position is priced through the bid and trades now; the intent is still
    recorded as sent, so its key replays."""
    config = tmp_path / "og.yaml"
    config.write_text("risk:\n  emergency:\n    make_limits_marketable: true\n    cross_bps: 50\n")
    monkeypatch.setenv("ORDERGATE_CONFIG", str(config))
    run("mark", "AAPL", "--last", "100", "--bid", "99.9", "--ask", "100.1", "--db", db)
    run("submit", "--symbol", "AAPL", "--side", "buy", "--qty", "10", "--key", "e0", "--db", db)
    run("trading", "emergency", "--on", "--actor", "risk", "--reason", "crash", "--db", db)
    args = ("submit", "--symbol", "AAPL", "--side", "sell", "--qty", "10", "--type", "limit",
            "--price", "105", "--key", "e1", "--db", db)  # fmt: skip
    sold = run_json(*args)
    assert sold["status"] == "FILLED"  # 105 would have rested; 99.9 - 50 bps crosses
    order = run_json("order", sold["order_id"], "--db", db)
    assert order["limit_price"] == "99.4005"
    assert run_json(*args)["order_id"] == sold["order_id"]  # same intent, same order
    assert run_json("positions", "--db", db)[0]["qty"] == "0"


def test_basket_from_a_file_fills_each_and_replays(db: str, tmp_path: Path) -> None:
    run("mark", "AAPL", "--last", "150", "--db", db)
    run("mark", "MSFT", "--last", "300", "--db", db)
    basket = tmp_path / "basket.json"
    basket.write_text(
        json.dumps(
            {
                "intents": [
                    {"symbol": "AAPL", "side": "buy", "qty": "3", "key": "cli-b1"},
                    {"symbol": "MSFT", "side": "sell", "qty": "2", "key": "cli-b2"},
                ]
            }
        )
    )
    reports = run_json("basket", str(basket), "--db", db)["reports"]
    assert [r["status"] for r in reports] == ["FILLED", "FILLED"]
    again = run_json("basket", str(basket), "--db", db)["reports"]
    assert [r["replayed"] for r in again] == [True, True]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"symbol": "AAPL", "side": "buy", "qty": "0", "key": "z"}]))
    error = run_json("basket", str(bad), "--db", db, code=2)
    assert error["error"]["message"].startswith("intents[0].qty")
    assert "cannot read" in run("basket", str(tmp_path / "missing.json"), "--db", db, code=2)
