"""Helpers for audit and retention tests: orders on a file store, a raw connection."""

from __future__ import annotations

import sqlite3

from ordergate.engine.engine import ExecutionEngine
from ordergate.store.sqlite import SqliteStore


def fill_orders(
    engine: ExecutionEngine, prefix: str, count: int, symbol: str = "AAPL"
) -> list[str]:
    """``count`` market orders that fill at once; their order ids."""
    engine.mark(symbol, "100")
    ids = []
    for i in range(count):
        report = engine.submit(
            {"idempotency_key": f"{prefix}-{i}", "symbol": symbol, "side": "buy", "qty": "1"}
        )
        ids.append(report.order_id)
    return ids


def resting_order(engine: ExecutionEngine, key: str) -> str:
    """A limit buy far below the market: it stays open."""
    engine.mark("MSFT", "300")
    report = engine.submit(
        {
            "idempotency_key": key,
            "symbol": "MSFT",
            "side": "buy",
            "qty": "1",
            "order_type": "limit",
            "limit_price": "100",
            "time_in_force": "GTC",
        }
    )
    return report.order_id


def raw(store: SqliteStore) -> sqlite3.Connection:
    """A second connection to the store's file, as an operator (or attacker) has."""
    return sqlite3.connect(store.path, isolation_level=None)


def tamperable(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Lift the append-only trigger, as someone with file access could."""
    conn.execute("DROP TRIGGER IF EXISTS order_events_no_update")
    return conn
