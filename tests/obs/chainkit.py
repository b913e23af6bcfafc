"""Helpers for audit and retention tests: orders on a file store, a raw connection."""

from __future__ import annotations

import sqlite3
from typing import Any

from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.audit import Problem, VerifyResult, verify_chain
from ordergate.obs.retention import PurgeResult, RetentionPolicy, purge
from ordergate.store.sqlite import SqliteStore

#: The audit key of the tests' stores.
KEY = bytes(range(32))
#: Problems of the chain itself (the others are derived rows disagreeing with it).
CHAIN_KINDS = frozenset(
    {"edited", "removed", "reordered", "unhashed", "truncated", "fake_prune", "forged_anchor"}
    | {"forged_seal", "unsealed", "forged_checkpoint"}
)


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
    if isinstance(engine.store, SqliteStore):
        engine.store.flush()  # the receipts ride a group commit: on disk before one looks
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
    """A second connection to the store's file, as an operator (or attacker) has; the
    store's open group commit (receipts riding it) is committed first."""
    store.flush()
    return sqlite3.connect(store.path, isolation_level=None)


def tamperable(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Lift the append-only trigger, as someone with file access could."""
    conn.execute("DROP TRIGGER IF EXISTS order_events_no_update")
    return conn


def verify(store: SqliteStore, **options: Any) -> VerifyResult:
    """``audit verify`` of the store's file: its key, and its checkpoint read first."""
    trail = store.audit
    assert trail is not None
    state = None if trail.checkpoint is None else trail.checkpoint.read()
    return verify_chain(raw(store), key=trail.key, checkpoint=state, **options)


def named(result: VerifyResult, kinds: frozenset[str] = CHAIN_KINDS) -> list[tuple[str, int, str]]:
    """``(kind, seq, order_id)`` of the problems of ``kinds``."""
    return [(p.kind, p.seq, p.order_id) for p in result.problems if p.kind in kinds]


def derived(result: VerifyResult) -> list[Problem]:
    return [p for p in result.problems if p.kind not in CHAIN_KINDS]


def purge_keyed(store: SqliteStore, policy: RetentionPolicy, now: Any, **kw: Any) -> PurgeResult:
    trail = store.audit
    assert trail is not None
    return purge(raw(store), policy, now, key=trail.key, checkpoint=trail.checkpoint, **kw)
