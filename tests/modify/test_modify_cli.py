"""``ordergate modify``, as a user types it: separate commands share the paper book."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import run, run_json


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "cli.db")


def test_modify_a_resting_limit_then_fill_it_on_a_later_mark(db: str) -> None:
    run("mark", "MSFT", "--last", "400", "--db", db)
    rest = run_json(
        "submit", "--symbol", "MSFT", "--side", "buy", "--qty", "5", "--type", "limit",
        "--price", "390", "--tif", "GTC", "--key", "l1", "--db", db,
    )  # fmt: skip
    assert rest["status"] == "ACCEPTED"
    out = run_json("modify", rest["order_id"], "--qty", "8", "--limit", "395", "--key", "m1",
                   "--db", db)  # fmt: skip
    assert out["replace"]["state"] == "replaced"
    assert (out["replace"]["qty"], out["replace"]["limit_price"]) == ("8", "395")
    again = run_json("modify", rest["order_id"], "--qty", "8", "--limit", "395", "--key", "m1",
                     "--db", db)  # fmt: skip
    assert again["replayed"] is True
    text = run("modify", rest["order_id"], "--limit", "396", "--db", db)
    assert "replace 2 replaced: qty 8 limit 396" in text
    run("mark", "MSFT", "--last", "395.5", "--db", db)  # another process: the book is shared
    order = run_json("order", rest["order_id"], "--db", db)
    assert order["status"] == "FILLED"
    assert order["filled_qty"] == "8"


def test_modify_refusals_print_their_code_and_exit_2(db: str) -> None:
    run("mark", "MSFT", "--last", "400", "--db", db)
    rest = run_json(
        "submit", "--symbol", "MSFT", "--side", "buy", "--qty", "5", "--type", "limit",
        "--price", "390", "--key", "l1", "--db", db,
    )  # fmt: skip
    out = run_json("modify", rest["order_id"], "--stop", "380", "--db", db, code=2)
    assert out["error"]["code"] == "E_ORDER_MODIFY_INVALID"
    run_json("modify", rest["order_id"], "--qty", "6", "--key", "m1", "--db", db)
    conflict = run_json("modify", rest["order_id"], "--qty", "7", "--key", "m1", "--db", db, code=2)
    assert conflict["error"]["code"] == "E_EXEC_IDEMPOTENCY_CONFLICT"
    run_json("cancel", rest["order_id"], "--db", db)
    final = run_json("modify", rest["order_id"], "--qty", "9", "--db", db, code=2)
    assert final["error"]["code"] == "E_ORDER_NOT_MODIFIABLE"
    missing = run_json("modify", "ord_missing", "--qty", "9", "--db", db, code=2)
    assert missing["error"]["code"] == "E_ORDER_NOT_FOUND"


def test_modify_help_is_there() -> None:
    text = run("modify", "--help")
    for option in ("--qty", "--limit", "--stop", "--key"):
        assert option in text
