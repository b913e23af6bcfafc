"""``ordergate purge``: seed 000's retention, without breaking the audit chain.

What goes (defaults from the settings):

- orders in a final status whose last change is older than ``orders_days`` (365),
  with their fills, events and intent — an open order is never touched, however old;
- raw operational messages — events with no order (marks, broker and ops
  messages) in the event log that is also the outbox — older than ``receipts_days``
  (30) that every relay has already passed, and rows of a ``broker_receipts`` table
  when the schema has one.

How the chain stays verifiable: a purged event leaves a stub in ``audit_pruned``
(``seq``, ``order_id``, ``prev_hash``, ``hash``; no content), so the events around it
still link. Stubs older than the oldest live event are then folded into one anchor
(``audit_anchors``: the ``seq`` and ``hash`` at the cut), where verification starts.
The chain is verified before anything is removed: purging never launders tampering.

It runs on SQLite and PostgreSQL alike, through the audit chain's small port
(:class:`~ordergate.obs.audit.ChainStore`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ordergate.domain.errors import PersistenceError
from ordergate.obs.audit import ChainStore, chain_of, verify_chain

FINAL = ("FILLED", "CANCELED", "REJECTED", "EXPIRED", "FAILED")
_BATCH = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionPolicy:
    orders_days: int = 365
    receipts_days: int = 30


@dataclass(slots=True)
class PurgeResult:
    orders: int = 0
    fills: int = 0
    events: int = 0
    intents: int = 0
    outbox: int = 0
    receipts: int = 0
    anchor_seq: int | None = None
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ChainBroken(PersistenceError):
    """The audit chain does not verify; retention refuses to remove evidence."""


def purge(
    conn: sqlite3.Connection | ChainStore,
    policy: RetentionPolicy,
    now: datetime,
    *,
    dry_run: bool = False,
) -> PurgeResult:
    """Remove what the policy lets go, in one transaction; return what was removed."""
    db = chain_of(conn)
    check = verify_chain(db)
    if not check.ok:
        first = check.problems[0]
        raise ChainBroken(
            f"the audit chain does not verify ({first.kind} at seq {first.seq}, order "
            f"{first.order_id}); run 'ordergate audit verify' — nothing was purged"
        )
    order_cut = _ts(now - timedelta(days=policy.orders_days))
    receipt_cut = _ts(now - timedelta(days=policy.receipts_days))
    result = PurgeResult(dry_run=dry_run)
    db.begin_write()
    try:
        ids = [
            str(row[0])
            for row in db.execute(
                f"SELECT order_id FROM orders WHERE status IN ({_marks(FINAL)}) AND updated_at < ?",
                (*FINAL, order_cut),
            )
        ]
        for batch in _batches(ids):
            _purge_orders(db, batch, result)
        _purge_outbox(db, receipt_cut, result)
        _purge_receipts(db, receipt_cut, result)
        result.anchor_seq = _fold_into_anchor(db, now, order_cut)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("ROLLBACK" if dry_run else "COMMIT")
    return result


def _purge_orders(conn: ChainStore, ids: Sequence[str], result: PurgeResult) -> None:
    marks = _marks(ids)
    result.events += _prune_events(conn, f"order_id IN ({marks})", tuple(ids))
    result.fills += conn.execute(
        f"DELETE FROM fills WHERE order_id IN ({marks})", tuple(ids)
    ).rowcount
    intent_ids = [
        row[0]
        for row in conn.execute(
            f"SELECT intent_id FROM orders WHERE order_id IN ({marks})", tuple(ids)
        )
    ]
    if conn.has_table("order_leases"):
        conn.execute(f"DELETE FROM order_leases WHERE order_id IN ({marks})", tuple(ids))
    result.orders += conn.execute(
        f"DELETE FROM orders WHERE order_id IN ({marks})", tuple(ids)
    ).rowcount
    if intent_ids:
        result.intents += conn.execute(
            f"DELETE FROM intents WHERE intent_id IN ({_marks(intent_ids)}) AND NOT EXISTS "
            "(SELECT 1 FROM orders o WHERE o.intent_id = intents.intent_id)",
            tuple(intent_ids),
        ).rowcount


def _prune_events(conn: ChainStore, where: str, params: tuple[Any, ...]) -> int:
    """Delete the events ``where`` selects, leaving a stub of each chained one."""
    conn.execute(
        "INSERT INTO audit_pruned (seq, order_id, prev_hash, hash, ts) "
        "SELECT seq, COALESCE(order_id, ''), prev_hash, hash, ts FROM order_events "
        f"WHERE {where} AND hash IS NOT NULL",
        params,
    )
    return int(conn.execute(f"DELETE FROM order_events WHERE {where}", params).rowcount)


def _purge_outbox(conn: ChainStore, cut: str, result: PurgeResult) -> None:
    """Old messages with no order that every relay has passed (all, when none ever ran)."""
    row = conn.execute("SELECT MIN(last_id) FROM outbox_cursors").fetchone()
    relayed_up_to = None if row is None else row[0]
    where = "order_id IS NULL AND ts < ?"
    params: tuple[Any, ...] = (cut,)
    if relayed_up_to is not None:
        where, params = f"{where} AND seq <= ?", (cut, relayed_up_to)
    result.outbox += _prune_events(conn, where, params)


def _purge_receipts(conn: ChainStore, cut: str, result: PurgeResult) -> None:
    """A ``broker_receipts`` table (``received_at`` column), when the schema has one."""
    if conn.has_table("broker_receipts"):
        result.receipts += conn.execute(
            "DELETE FROM broker_receipts WHERE received_at < ?", (cut,)
        ).rowcount


def _fold_into_anchor(conn: ChainStore, now: datetime, cut: str) -> int | None:
    """Replace the stubs before the oldest live event by one anchor at the newest of them."""
    row = conn.execute("SELECT MIN(seq) FROM order_events WHERE hash IS NOT NULL").fetchone()
    oldest_live = None if row is None else row[0]
    if oldest_live is None:
        stub = conn.execute(
            "SELECT seq, hash FROM audit_pruned ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    else:
        stub = conn.execute(
            "SELECT seq, hash FROM audit_pruned WHERE seq < ? ORDER BY seq DESC LIMIT 1",
            (oldest_live,),
        ).fetchone()
    if stub is None:
        return None
    seq, digest = int(stub[0]), str(stub[1])
    conn.execute(
        "INSERT INTO audit_anchors (seq, hash, created_at, note) VALUES (?, ?, ?, ?)",
        (seq, digest, _ts(now), f"retention cut: final orders last changed before {cut}"),
    )
    conn.execute("DELETE FROM audit_pruned WHERE seq <= ?", (seq,))
    return seq


def _ts(when: datetime) -> str:
    """Stored times are ISO 8601 in UTC, so text order is time order."""
    return when.astimezone(UTC).isoformat()


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _batches(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _BATCH] for i in range(0, len(ids), _BATCH)]
