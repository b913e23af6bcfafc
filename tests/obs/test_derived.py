"""Rows derived from the events — orders, fills, positions, intents — re-folded from
the chain: an edit to any of them is named, with the field and both values."""

from __future__ import annotations

import pytest

from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.audit import Problem
from ordergate.store.sqlite import SqliteStore
from tests.obs.chainkit import derived, fill_orders, named, raw, resting_order, verify


@pytest.fixture
def booked(engine: ExecutionEngine, store: SqliteStore) -> list[str]:
    """Three filled buys of AAPL and one resting MSFT limit: order ids."""
    return [*fill_orders(engine, "d", 3), resting_order(engine, "rest")]


def _only(store: SqliteStore) -> Problem:
    result = verify(store)
    assert not named(result), result.problems  # the chain itself is intact
    problems = derived(result)
    assert len(problems) == 1, problems
    return problems[0]


def test_an_edited_order_row_is_named(store: SqliteStore, booked: list[str]) -> None:
    raw(store).execute(
        "UPDATE orders SET status = 'CANCELED', filled_qty = '0' WHERE order_id = ?",
        (booked[1],),
    )
    problem = _only(store)
    assert (problem.kind, problem.order_id) == ("order_row", booked[1])
    assert "status: row 'CANCELED', events 'FILLED'" in problem.detail
    assert "filled_qty" in problem.detail


def test_a_removed_or_inserted_order_row_is_named(store: SqliteStore, booked: list[str]) -> None:
    conn = raw(store)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("DELETE FROM orders WHERE order_id = ?", (booked[3],))
    problem = _only(store)
    assert (problem.kind, problem.order_id, problem.detail) == (
        "order_row",
        booked[3],
        "the order's row was removed",
    )


def test_an_edited_fill_row_is_named(store: SqliteStore, booked: list[str]) -> None:
    raw(store).execute("UPDATE fills SET last_px = '1' WHERE order_id = ?", (booked[0],))
    problem = _only(store)
    assert (problem.kind, problem.order_id) == ("fill_row", booked[0])
    assert "last_px: row '1'" in problem.detail


def test_a_removed_fill_row_is_named(store: SqliteStore, booked: list[str]) -> None:
    raw(store).execute("DELETE FROM fills WHERE order_id = ?", (booked[2],))
    problem = _only(store)
    assert (problem.kind, problem.order_id) == ("fill_row", booked[2])
    assert problem.detail.endswith("was removed")


def test_an_edited_position_row_is_named(store: SqliteStore, booked: list[str]) -> None:
    raw(store).execute("UPDATE positions SET qty = '100', avg_price = '1' WHERE symbol = 'AAPL'")
    problem = _only(store)
    assert problem.kind == "position_row"
    assert "default/AAPL differs from its fills folded" in problem.detail
    assert "qty: row '100'" in problem.detail


def test_an_inserted_position_row_is_named(store: SqliteStore, booked: list[str]) -> None:
    raw(store).execute(
        "INSERT INTO positions (account_id, symbol, qty, avg_price, realized_gross, "
        "commission, updated_at) VALUES ('default', 'TSLA', '50', '1', '0', '0', '2026')"
    )
    problem = _only(store)
    assert (problem.kind, problem.detail) == (
        "position_row",
        "default/TSLA: a position no fill made",
    )


def test_an_edited_intent_row_is_named(store: SqliteStore, booked: list[str]) -> None:
    raw(store).execute(
        'UPDATE intents SET payload = replace(payload, \'"qty":"1"\', \'"qty":"7"\') '
        "WHERE order_id = ?",
        (booked[1],),
    )
    problem = _only(store)
    assert (problem.kind, problem.order_id) == ("intent_row", booked[1])
    assert "intent_digest" in problem.detail


def test_a_removed_intent_row_is_named(store: SqliteStore, booked: list[str]) -> None:
    raw(store).execute("DELETE FROM intents WHERE order_id = ?", (booked[3],))
    problem = _only(store)
    assert (problem.kind, problem.order_id) == ("intent_row", booked[3])


def test_a_row_no_event_records_is_named(store: SqliteStore, booked: list[str]) -> None:
    raw(store).execute(
        "INSERT INTO fills (order_id, exec_id, account_id, strategy_id, symbol, side, "
        "last_qty, last_px, commission, realized_gross, liquidity, late, trading_day, ts) "
        "SELECT order_id, 'forged', account_id, strategy_id, symbol, side, last_qty, "
        "last_px, commission, realized_gross, liquidity, late, trading_day, ts FROM fills "
        "WHERE order_id = ?",
        (booked[0],),
    )
    problem = _only(store)
    assert (problem.kind, problem.order_id) == ("fill_row", booked[0])
    assert "fill forged is recorded by no event" in problem.detail


@pytest.mark.parametrize(
    ("column", "value"),
    [("submitted_at", "2020-01-01T00:00:00+00:00"), ("sl_offset_pct", "-0.5")],
)
def test_order_columns_outside_the_view_are_checked_too(
    store: SqliteStore, booked: list[str], column: str, value: str
) -> None:
    """The submit time is the last ``orders.submitted`` event's; the bracket offsets
    are what the order's first event fixed."""
    raw(store).execute(f"UPDATE orders SET {column} = ? WHERE order_id = ?", (value, booked[2]))
    problem = _only(store)
    assert (problem.kind, problem.order_id) == ("order_row", booked[2])
    assert problem.detail.startswith(f"differs from its events: {column}: row ")
