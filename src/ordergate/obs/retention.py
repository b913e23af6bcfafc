"""``ordergate purge``: seed 000's retention, without breaking the audit chain.

What goes (defaults from the settings):

- orders in a final status whose last change is older than ``orders_days`` (365),
  with their fills, events and intent — an open order is never touched, however old;
- raw operational messages — events with no order (marks, broker and ops
  messages) in the event log that is also the outbox — older than ``receipts_days``
  (30) that every relay has already passed, and rows of a ``broker_receipts`` table
  when the schema has one;
- the marks shadow mode simulated against (``shadow_marks``, in the twin's database)
  older than ``receipts_days``: raw market data, like the marks in the event log.

How the chain stays verifiable: a purged event leaves a stub in ``audit_pruned``
(``seq``, ``order_id``, ``prev_hash``, ``hash``; no content), so the events around it
still link; the stub carries a MAC with the audit key, so a stub nobody purged is
named. Stubs older than the oldest live event are then folded into one anchor
(``audit_anchors``: the ``seq`` and ``hash`` at the cut, with its MAC), where
verification starts. The purge itself is recorded in the chain: an ``audit.purged``
event (what went, the positions at that point, from which verification re-folds the
fills after it) and an ``audit.anchored`` event for a new anchor. The chain and its
derived rows are verified before anything is removed: purging never launders
tampering. The chain's own events are kept as long as orders (``orders_days``).

It runs on SQLite and PostgreSQL alike, through the audit chain's small port
(:class:`~ordergate.obs.audit.ChainStore`).

On a partitioned chain (``store.chain``) the purge holds every partition's write lock
(ascending), so the positions it records are those at each partition's head, which the
``audit.purged`` event names (``partition_heads``: verification folds each partition's
fills after its own head onto them). A stub keeps its event's ``seq``, so it stays in its
partition; stubs are folded into one anchor a partition, each partition's walk starting
at its own. The purge's own events, having no order, are partition 0's.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ordergate.domain.errors import PersistenceError
from ordergate.domain.events import SCHEMA_VERSION
from ordergate.obs.audit import ChainStore, anchor_mac, chain_of, stub_mac, verify_chain
from ordergate.store.base import EventRecord
from ordergate.store.chain import ANCHOR_TOPIC, PURGE_TOPIC, SPAN, seq_range
from ordergate.store.chain_sources import partitions
from ordergate.store.checkpoint import Checkpoint
from ordergate.store.seal import append_events, positions_snapshot

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
    shadow_marks: int = 0
    anchor_seq: int | None = None
    #: on a partitioned chain, the anchors made in partitions other than 0
    partition_anchors: dict[int, int] = field(default_factory=dict)
    #: the seq of the ``audit.purged`` event that records this purge
    event_seq: int | None = None
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
    key: bytes | None = None,
    checkpoint: Checkpoint | None = None,
) -> PurgeResult:
    """Remove what the policy lets go, in one transaction; return what was removed.

    ``key``: the audit key (stubs, anchor and the purge's events are keyed with it);
    ``checkpoint``: where the new head is checkpointed once the purge commits.
    """
    db = chain_of(conn)
    check = verify_chain(db, key=key, checkpoint=None if checkpoint is None else checkpoint.read())
    if not check.ok:
        first = check.problems[0]
        raise ChainBroken(
            f"the audit chain does not verify ({first.kind} at seq {first.seq}, order "
            f"{first.order_id}); run 'ordergate audit verify' — nothing was purged"
        )
    order_cut = _ts(now - timedelta(days=policy.orders_days))
    receipt_cut = _ts(now - timedelta(days=policy.receipts_days))
    result = PurgeResult(dry_run=dry_run)
    pruned: list[tuple[int, str]] = []
    db.begin_write()
    try:
        others = [p for p in partitions(db.one) if p != 0]
        for partition in others:
            db.lock_partition(partition)
        ids = [
            str(row[0])
            for row in db.execute(
                f"SELECT order_id FROM orders WHERE status IN ({_marks(FINAL)}) AND updated_at < ?",
                (*FINAL, order_cut),
            )
        ]
        for batch in _batches(ids):
            _purge_orders(db, batch, result, key, pruned)
        _purge_outbox(db, receipt_cut, order_cut, result, key, pruned)
        _purge_receipts(db, receipt_cut, result)
        _purge_shadow_marks(db, receipt_cut, result)
        head = None
        if pruned or result.receipts or result.shadow_marks:
            head = _record_purge(db, now, order_cut, receipt_cut, result, pruned, key, others)
        for partition in [0, *others]:
            anchor_seq, anchored = _fold_into_anchor(db, now, order_cut, key, partition)
            if partition == 0:
                result.anchor_seq = anchor_seq
            elif anchor_seq is not None:
                result.partition_anchors[partition] = anchor_seq
            head = anchored or head
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("ROLLBACK" if dry_run else "COMMIT")
    if head is not None and checkpoint is not None and not dry_run:
        checkpoint.committed(*head)
    return result


def _record_purge(
    db: ChainStore,
    now: datetime,
    order_cut: str,
    receipt_cut: str,
    result: PurgeResult,
    pruned: list[tuple[int, str]],
    key: bytes | None,
    others: Sequence[int] = (),
) -> tuple[int, str] | None:
    """The ``audit.purged`` event: counts, cuts, a digest of the stubs, the positions
    (and, on a partitioned chain, the other partitions' heads they stand at)."""
    digest = hashlib.sha256("\n".join(f"{s}:{h}" for s, h in sorted(pruned)).encode())
    body = {
        "orders": result.orders,
        "fills": result.fills,
        "events": result.events,
        "intents": result.intents,
        "outbox": result.outbox,
        "receipts": result.receipts,
        "shadow_marks": result.shadow_marks,
        "orders_before": order_cut,
        "receipts_before": receipt_cut,
        "pruned_seqs": _ranges(sorted(s for s, _ in pruned)),
        "pruned_digest": digest.hexdigest(),
        "positions": positions_snapshot(db),
    }
    heads = {str(p): int(h[0]) for p in others if (h := db.head(p)) is not None}
    if heads:
        body["partition_heads"] = heads
    head = append_events(db, [_chain_event(PURGE_TOPIC, body, now)], key)
    result.event_seq = None if head is None else head[0]
    return head


def _chain_event(topic: str, body: dict[str, Any], now: datetime) -> EventRecord:
    payload = {"schema_version": SCHEMA_VERSION, "topic": topic, "ts": now.isoformat(), **body}
    return EventRecord(None, topic, None, None, orjson.dumps(payload).decode(), now)


def _ranges(seqs: Sequence[int]) -> list[list[int]]:
    """``[[first, last], …]`` runs of consecutive seqs."""
    out: list[list[int]] = []
    for seq in seqs:
        if out and out[-1][1] == seq - 1:
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out


def _purge_orders(
    conn: ChainStore,
    ids: Sequence[str],
    result: PurgeResult,
    key: bytes | None,
    pruned: list[tuple[int, str]],
) -> None:
    marks = _marks(ids)
    result.events += _prune_events(conn, f"order_id IN ({marks})", tuple(ids), key, pruned)
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


def _prune_events(
    conn: ChainStore,
    where: str,
    params: tuple[Any, ...],
    key: bytes | None,
    pruned: list[tuple[int, str]],
) -> int:
    """Delete the events ``where`` selects, leaving a stub of each chained one (with
    its MAC when there is a key)."""
    stubs = [
        (int(seq), str(order_id), str(prev), str(digest), ts)
        for seq, order_id, prev, digest, ts in conn.rows(
            "SELECT seq, COALESCE(order_id, ''), prev_hash, hash, ts FROM order_events "
            f"WHERE {where} AND hash IS NOT NULL",
            params,
        )
    ]
    conn.many(
        "INSERT INTO audit_pruned (seq, order_id, prev_hash, hash, ts, mac) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(*s, None if key is None else stub_mac(key, *s)) for s in stubs],
    )
    pruned.extend((s[0], s[3]) for s in stubs)
    return int(conn.execute(f"DELETE FROM order_events WHERE {where}", params).rowcount)


def _purge_outbox(
    conn: ChainStore,
    cut: str,
    audit_cut: str,
    result: PurgeResult,
    key: bytes | None,
    pruned: list[tuple[int, str]],
) -> None:
    """Old messages with no order that every relay has passed (all, when none ever ran);
    the chain's own events only after ``audit_cut`` (as long as orders are kept)."""
    # Events with no order are partition 0's (``store.chain``): what every relay passed
    # there is the least of the partition-0 cursors (a relay with only other partitions'
    # cursors has passed none of it).
    passed: dict[str, int] = {}
    for consumer, last_id in conn.rows("SELECT consumer, last_id FROM outbox_cursors"):
        base = str(consumer).split("#p", 1)[0]
        here = int(last_id) if int(last_id) < SPAN else 0
        passed[base] = max(passed.get(base, 0), here)
    relayed_up_to = min(passed.values()) if passed else None
    where = "order_id IS NULL AND ts < ? AND (topic NOT IN (?, ?) OR ts < ?)"
    params: tuple[Any, ...] = (cut, PURGE_TOPIC, ANCHOR_TOPIC, audit_cut)
    if relayed_up_to is not None:
        where, params = f"{where} AND seq <= ?", (*params, relayed_up_to)
    result.outbox += _prune_events(conn, where, params, key, pruned)


def _purge_receipts(conn: ChainStore, cut: str, result: PurgeResult) -> None:
    """A ``broker_receipts`` table (``received_at`` column), when the schema has one."""
    if conn.has_table("broker_receipts"):
        result.receipts += conn.execute(
            "DELETE FROM broker_receipts WHERE received_at < ?", (cut,)
        ).rowcount


def _purge_shadow_marks(conn: ChainStore, cut: str, result: PurgeResult) -> None:
    """The twin's ``shadow_marks`` (``ts`` column, ISO 8601 as the engine's clock gives
    it), when the database is a shadow twin's."""
    if conn.has_table("shadow_marks"):
        result.shadow_marks += conn.execute(
            "DELETE FROM shadow_marks WHERE ts < ?", (cut,)
        ).rowcount


def _fold_into_anchor(
    conn: ChainStore, now: datetime, cut: str, key: bytes | None, partition: int = 0
) -> tuple[int | None, tuple[int, str] | None]:
    """Replace the partition's stubs before its oldest live event by one anchor at the
    newest of them; return its seq and the chain's head after the ``audit.anchored``
    event (which goes to partition 0: it has no order)."""
    lo, hi = seq_range(partition)
    row = conn.execute(
        "SELECT MIN(seq) FROM order_events WHERE hash IS NOT NULL AND seq > ? AND seq < ?",
        (lo, hi),
    ).fetchone()
    oldest_live = hi if row is None or row[0] is None else row[0]
    stub = conn.execute(
        "SELECT seq, hash FROM audit_pruned WHERE seq > ? AND seq < ? ORDER BY seq DESC LIMIT 1",
        (lo, oldest_live),
    ).fetchone()
    if stub is None:
        return None, None
    seq, digest = int(stub[0]), str(stub[1])
    note = f"retention cut: final orders last changed before {cut}"
    conn.execute(
        "INSERT INTO audit_anchors (seq, hash, created_at, note, mac) VALUES (?, ?, ?, ?, ?)",
        (seq, digest, _ts(now), note, None if key is None else anchor_mac(key, seq, digest)),
    )
    conn.execute("DELETE FROM audit_pruned WHERE seq > ? AND seq <= ?", (lo, seq))
    event = _chain_event(ANCHOR_TOPIC, {"seq": seq, "hash": digest, "note": note}, now)
    return seq, append_events(conn, [event], key)


def _ts(when: datetime) -> str:
    """Stored times are ISO 8601 in UTC, so text order is time order."""
    return when.astimezone(UTC).isoformat()


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _batches(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _BATCH] for i in range(0, len(ids), _BATCH)]
