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
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)  # warnings go to stderr: stdout is JSON alone


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


# ----------------------------------------------------------- issue 21: a CLI that never surprises


def submit_args(db: str, key: str, *extra: str, qty: str = "10") -> list[str]:
    return ["submit", "--symbol", "AAPL", "--side", "buy", "--qty", qty, "--key", key,
            "--db", db, *extra]  # fmt: skip


def test_every_json_flag_prints_json(db: str, tmp_path: Path) -> None:
    run("mark", "AAPL", "--last", "100", "--db", db)
    assert run_json("sync", "--db", db)["checked"] == 0
    state = run_json("trading", "set", "NORMAL", "--actor", "ops", "--reason", "open", "--db", db)
    assert state["state"]["value"] == "NORMAL"
    posture = run_json("trading", "emergency", "--off", "--actor", "o", "--reason", "r", "--db", db)
    assert posture["posture"]["value"] == "NORMAL"
    assert run_json("kill-switch", "list", "--db", db) == []
    assert run_json("recover", "--db", db) == {"orders": 0}
    assert "realized_pnl" in run_json("pnl", "--db", db)
    # and without --json, no Python repr
    for args in (("sync",), ("trading", "set", "NORMAL", "--actor", "o", "--reason", "r")):
        out = run(*args, "--db", db)
        assert "{'" not in out, out


def test_an_error_code_is_printed_once(db: str) -> None:
    run("mark", "AAPL", "--last", "100", "--db", db)
    run("trading", "set", "HALTED", "--actor", "ops", "--reason", "news", "--db", db)
    out = run(*submit_args(db, "h-1"), code=2)
    assert out.count("E_RISK_TRADING_HALTED") == 1, out
    assert "state=HALTED" in out
    run("kill-switch", "set", "GLOBAL", "--reason", "x", "--actor", "a", "--db", db)
    run("trading", "set", "NORMAL", "--actor", "ops", "--reason", "ok", "--db", db)
    out = run(*submit_args(db, "h-2"), code=2)
    assert out.count("E_RISK_KILL_SWITCH") == 1, out


def test_an_install_hint_keeps_the_extras_name(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich markup used to eat ``[postgres]`` out of ``pip install 'ordergate[postgres]'``."""
    from ordergate import cli
    from ordergate.domain.errors import ConfigError

    def no_driver(settings: object, **parts: object) -> None:
        raise ConfigError("a postgresql:// database needs: pip install 'ordergate[postgres]'")

    monkeypatch.setattr(cli, "build_engine", no_driver)
    out = run("mark", "AAPL", "--last", "1", "--db", db, code=2)
    assert "pip install 'ordergate[postgres]'" in out
    assert out.count("E_CONFIG_INVALID") == 1


def test_tca_json_without_db_reads_the_configured_store_and_takes_a_url(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("mark", "AAPL", "--last", "100", "--bid", "99.9", "--ask", "100.1", "--db", db)
    run(*submit_args(db, "t-1"))
    monkeypatch.setenv("ORDERGATE_DATABASE_URL", f"sqlite:///{db}")
    report = json.loads(run("tca", "--json"))
    assert report["overall"]["orders"] == 1
    monkeypatch.delenv("ORDERGATE_DATABASE_URL")
    assert json.loads(run("tca", "--json", "--db", f"sqlite:///{db}")) == report


def test_submit_flags_for_brackets_expiry_and_attribution(db: str) -> None:
    from ordergate.store.sqlite import SqliteStore

    run("mark", "AAPL", "--last", "151", "--bid", "150.99", "--ask", "151.01", "--db", db)
    entry = run_json(
        *submit_args(db, "b-1", "--sl-pct", "2", "--tp-pct", "3", "--decision-id", "dec-7",
                     "--regime-id", "calm", "--universe-id", "sp500",
                     "--profile-version-id", "pv-2"),
    )  # fmt: skip
    assert entry["status"] == "FILLED"
    children = [o for o in run_json("orders", "--db", db) if o["parent_order_id"]]
    assert sorted(o["order_type"] for o in children) == ["LIMIT", "STOP"]
    store = SqliteStore(db)
    try:
        payload = json.loads(store.intent_payload(entry["order_id"]) or "{}")
    finally:
        store.close()
    assert payload["decision_id"] == "dec-7"
    assert (payload["regime_id"], payload["universe_id"]) == ("calm", "sp500")
    assert payload["profile_version_id"] == "pv-2"

    gtd = run_json(
        *submit_args(db, "g-1", "--type", "limit", "--price", "140", "--tif", "GTD",
                     "--expire-at", "2099-01-02T16:00:00-05:00"),
    )  # fmt: skip
    assert gtd["status"] == "ACCEPTED"
    bad = run_json(*submit_args(db, "g-2", "--tif", "GTD", "--expire-at", "tomorrow"), code=2)
    assert bad["error"]["code"] == "E_INTENT_INVALID"
    assert "expire_at" in bad["error"]["message"]


def test_plan_says_when_there_is_nothing_to_do(db: str, tmp_path: Path) -> None:
    run("mark", "AAPL", "--last", "100", "--db", db)
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps([{"symbol": "AAPL", "qty": "0"}]))
    out = run("plan", "--targets", str(targets), "--db", db)
    assert "nothing to do" in out
    data = json.loads(run("plan", "--targets", str(targets), "--db", db, "--json"))
    assert data["orders"] == []
    assert "nothing to do" in data["note"]


def test_ids_are_not_cut_off_in_a_narrow_terminal(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run("mark", "AAPL", "--last", "100", "--db", db)
    order_id = run_json(*submit_args(db, "n-1"))["order_id"]
    monkeypatch.setenv("COLUMNS", "60")
    out = run("orders", "--db", db)
    assert order_id in out, out
    assert "…" not in out


def test_a_read_command_on_a_missing_database_says_so_and_creates_nothing(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere" / "og.db"
    for args in (
        ("orders",),
        ("positions",),
        ("pnl",),
        ("order", "ord_x"),
        ("sync",),
        ("recover",),
        ("trading", "show"),
        ("kill-switch", "list"),
        ("tca",),
        ("audit", "verify"),
        ("purge",),
        ("purge", "--dry-run"),
        ("reconcile", "list"),
        ("algos", "list"),
        ("algos", "show", "par_x"),
        ("algos", "cancel", "par_x"),
    ):
        out = run(*args, "--db", str(missing), code=2)
        assert "no database at" in out, (args, out)
        assert out.count("E_CONFIG_INVALID") == 1, (args, out)
    assert not missing.parent.exists()


def test_every_rejection_prints_the_same_json_and_the_code_once(tmp_path: Path) -> None:
    """tca, backtest, audit verify and purge print a rejection as every other command:
    ``{"error": {code, message, retryable, context}}`` on stdout with --json, and
    ``CODE: message`` (the code once) without it."""
    missing = str(tmp_path / "og.db")
    bars = tmp_path / "bars.csv"
    bars.write_text("ts,symbol,open,high,low,close,volume\n")
    for args in (
        ("tca", "--db", missing),
        ("audit", "verify", "--db", missing),
        ("purge", "--db", missing),
        ("backtest", "--data", str(bars), "--strategy", "not-a-strategy"),
        ("shadow", "report", "--db", missing),
    ):
        error = run_json(*args, code=2)["error"]
        assert error["code"] == "E_CONFIG_INVALID", (args, error)
        assert error["retryable"] is False
        assert not error["message"].startswith("E_CONFIG_INVALID"), error
        out = run(*args, code=2)
        assert out.count("E_CONFIG_INVALID") == 1, (args, out)
        assert not out.startswith("error:"), out


def test_commands_close_their_store_and_leave_no_wal(db: str, tmp_path: Path) -> None:
    run("mark", "AAPL", "--last", "100", "--db", db)
    run(*submit_args(db, "w-1"))
    run("positions", "--db", db)
    assert not Path(db + "-wal").exists()
    bars = tmp_path / "bars.csv"
    rows = ["ts,symbol,open,high,low,close,volume"]
    rows += [f"2024-01-02T{9 + i // 60:02d}:{i % 60:02d}:00Z,AAPL,100,101,99,100.5,100000"
             for i in range(300)]  # fmt: skip
    bars.write_text("\n".join(rows) + "\n")
    bt_db = tmp_path / "bt.db"
    run("backtest", "--data", str(bars), "--strategy", "ordergate.backtest.examples:alternate",
        "--db", str(bt_db), "--json")  # fmt: skip
    assert bt_db.exists()
    assert not Path(str(bt_db) + "-wal").exists()


def test_recover_settles_open_orders_outside_serve(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("ORDERGATE_LEASE_TTL_S", "0.2")  # an order this old has no live owner
    run("mark", "AAPL", "--last", "100", "--db", db)
    resting = run_json(*submit_args(db, "r-1", "--type", "limit", "--price", "90"))
    assert resting["status"] == "ACCEPTED"
    time.sleep(0.3)
    report = run_json("recover", "--db", db)
    assert report["adopted"] == [resting["order_id"]]
    assert report["resubmitted"] == []
    assert report["failed"] == []


def test_a_caller_held_by_the_rate_limit_is_told(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERGATE_EXEC_REQUESTS_PER_SECOND", "1")
    run("mark", "AAPL", "--last", "100", "--db", db)
    intents = [
        {"symbol": "AAPL", "side": "buy", "qty": str(i + 1), "idempotency_key": f"q-{i}"}
        for i in range(2)  # the second waits about 1 s for its slot
    ]
    file = tmp_path / "basket.json"
    file.write_text(json.dumps(intents))
    result = CliRunner().invoke(app, ["basket", str(file), "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["reports"]) == 2  # stdout stays JSON
    assert "held by the broker rate limit" in result.stderr


def test_seed_modes_and_seed_003_execution_block_load(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed_003 = tmp_path / "dev.yaml"
    seed_003.write_text(
        "execution:\n"
        "  # ExecutionEngine v2 configuration\n"
        "  use_execution_engine_v2: false  # Set to true to enable\n"
        "  dry_run: false\n"
        "  slippage_bps: 5.0\n"
        "  use_bid_ask_spread: false\n"
        "  circuit_breakers:\n"
        "    max_daily_loss_rupees: 5000.0\n"
        "    max_daily_drawdown_pct: 0.02\n"
        "    max_trades_per_day: 100\n"
        "    max_trades_per_strategy_per_day: 50\n"
        "    max_loss_streak: 5\n"
    )
    monkeypatch.setenv("ORDERGATE_CONFIG", str(seed_003))
    with caplog.at_level("WARNING", logger="ordergate.config"):
        shown = json.loads(runner.invoke(app, ["config", "show", "--db", db]).stdout)
    assert shown["use_execution_engine_v2"] is False
    assert "always behaves as ExecutionEngine v2" in caplog.text
    monkeypatch.delenv("ORDERGATE_CONFIG")
    for seed_name, ours in (("PRODUCTION", "LIVE"), ("training", "BACKTEST"), ("paper", "PAPER")):
        monkeypatch.setenv("ORDERGATE_MODE", seed_name)
        assert json.loads(run("config", "show", "--db", db))["mode"] == ours
    monkeypatch.setenv("ORDERGATE_MODE", "SIMULATION")
    out = run_json("config", "show", "--db", db, code=2)
    assert out["error"]["code"] == "E_CONFIG_INVALID"


def test_help_loads_no_engine_settings_or_backtest() -> None:
    """``ordergate --help`` starts in about a tenth of a second because it imports typer
    and the command modules only; the engine, pydantic and the backtest load on use."""
    code = (
        "import sys\n"
        "from ordergate.cli import app\n"
        "heavy = ['ordergate.bootstrap', 'ordergate.config', 'ordergate.engine.engine',\n"
        "         'ordergate.backtest.runner', 'ordergate.store.sqlite', 'pydantic',\n"
        "         'rich.console', 'asyncio', 'structlog']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    assert loaded == ""
