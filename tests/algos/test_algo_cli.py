"""``ordergate algos``: submit a parent, list it, show it with its children, modify and
cancel it; a refusal prints its code and exits 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ordergate.cli import app

runner = CliRunner()


def run(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_a_parent_from_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    assert runner.invoke(app, ["mark", "AAPL", "--last", "100", "--db", db]).exit_code == 0
    intent = {
        "idempotency_key": "c1",
        "symbol": "AAPL",
        "side": "BUY",
        "qty": "30",
        "order_type": "LIMIT",
        "limit_price": "90",
        "algo": {"kind": "twap", "horizon_s": 300, "slices": 3},
    }
    view = run("algos", "submit", json.dumps(intent), "--db", db)
    parent_id = view["parent_id"]
    assert view["status"] == "WORKING"
    assert [c["qty"] for c in view["children"]] == ["10"]
    assert [p["parent_id"] for p in run("algos", "list", "--db", db)["parents"]] == [parent_id]
    shown = run("algos", "show", parent_id, "--db", db)
    assert shown["working"] == "10"
    assert shown["tca"]["arrival_price"] == "100"
    text = runner.invoke(app, ["algos", "show", parent_id, "--db", db]).stdout
    assert "slice 1:" in text
    assert "twap BUY 30 AAPL WORKING" in text
    modified = run("algos", "modify", parent_id, "--qty", "60", "--db", db)
    assert modified["qty"] == "60"
    canceled = run("algos", "cancel", parent_id, "--db", db)
    assert canceled["status"] == "CANCELED"
    refused = run("algos", "cancel", parent_id, "--db", db, code=2)
    assert refused["error"]["code"] == "E_ORDER_NOT_CANCELABLE"
    missing = runner.invoke(app, ["algos", "show", "alg_none", "--db", db])
    assert missing.exit_code == 2
    assert "E_ORDER_NOT_FOUND" in missing.output
