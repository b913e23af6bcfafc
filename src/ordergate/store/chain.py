"""The audit hash chain's arithmetic: pure, shared by every store backend.

Each row of ``order_events`` carries ``prev_hash`` (the ``hash`` of the row before it
in ``seq`` order, across all orders) and its own ``hash``::

    hash = HMAC-SHA256(audit key, prev_hash + canonical(event))

so editing an event changes its hash, removing or reordering events breaks the link
of the row after, and nobody without the audit key (kept outside the database) can
compute a hash for an edited or inserted event. Rows written before the key existed
(a store opened without one, or a database from before the key) are chained with plain
``sha256(prev_hash + canonical(event))``; the seal (``audit_seal``) says where they end.

Everything else the key vouches for — a purged event's stub, a retention anchor, the
seal, the checkpoint kept outside the database — carries :func:`record_mac`, an HMAC
over the record's kind and fields. The canonical form is key-sorted compact JSON of the event's
fields with the time in UTC ISO 8601, then the payload text as stored (every backend
stores it as text, so hashing never re-encodes it). ``seq`` is not hashed: the chain's
order is what proves the sequence, and a backend need not know ``seq`` before insert.

**Partitions.** The chain may be cut into partitions (issue 24), each a chain of its
own with its own head, lock, relay cursor and checkpoint, so writers of different
accounts never queue on one lock. An event belongs to the partition of its order's
account, :func:`partition_of` = ``crc32(account) mod N`` (``N`` kept in the database,
``chain_config``; 1 unless configured, so an install that never asks is one chain, as
before); an event with no order goes to partition 0. A partition is a range of ``seq``:
partition ``p`` numbers its rows ``p * SPAN + 1, p * SPAN + 2, …`` (:func:`seq_range`).
So ``seq`` stays the one key of the event log and the outbox id, unique across
partitions, every index serves a partition's head (``ORDER BY seq DESC`` within the
range), rows from before partitions are partition 0 unchanged, and the partition of any
row is ``seq // SPAN`` without a column to keep in step.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import orjson

from ordergate.domain.timestamps import iso, iso_utc

#: ``prev_hash`` of the very first event (of every partition).
GENESIS = "0" * 64

#: The width of a partition's ``seq`` range (10^12 events a partition; ~9.2 million
#: partitions fit a BIGINT).
SPAN = 10**12


def partition_of(account_id: str, partitions: int) -> int:
    """The chain partition of an account's events: ``crc32(account) mod partitions``."""
    if partitions <= 1:
        return 0
    return zlib.crc32(account_id.encode()) % partitions


def seq_range(partition: int) -> tuple[int, int]:
    """``(lo, hi)``: partition ``partition`` numbers its rows ``lo < seq < hi``."""
    return partition * SPAN, (partition + 1) * SPAN


def partition_of_seq(seq: int) -> int:
    return seq // SPAN


def canonical_ts(ts: datetime) -> str:
    return iso_utc(ts)


def canonical_event(
    order_id: str | None,
    topic: str,
    from_status: str | None,
    to_status: str | None,
    payload: str | Mapping[str, Any],
    ts: datetime,
) -> str:
    """Key-sorted compact JSON of the event's fields, then a newline and the payload
    text exactly as stored (every backend keeps it as text, so nothing is re-encoded)."""
    record = {
        "order_id": order_id,
        "topic": topic,
        "from": from_status,
        "to": to_status,
        "ts": canonical_ts(ts),
    }
    body = payload if isinstance(payload, str) else json.dumps(dict(payload), sort_keys=True)
    head = orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode()
    if not head.isascii() or "\x7f" in head:  # defined with stdlib's ASCII escapes
        # (orjson writes non-ASCII and DEL raw; the stdlib escapes both)
        head = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return f"{head}\n{body}"


def event_hash(
    prev_hash: str,
    order_id: str | None,
    topic: str,
    from_status: str | None,
    to_status: str | None,
    payload: str | Mapping[str, Any],
    ts: datetime,
    key: bytes | None = None,
) -> str:
    """The ``hash`` of an event that follows ``prev_hash`` in the chain: keyed with
    ``key`` (the audit key), plain sha256 without one."""
    data = prev_hash + canonical_event(order_id, topic, from_status, to_status, payload, ts)
    if key is None:
        return hashlib.sha256(data.encode()).hexdigest()
    return hmac.digest(key, data.encode(), "sha256").hex()


def record_mac(key: bytes, kind: str, *fields: object) -> str:
    """HMAC-SHA256 of ``kind`` and ``fields`` (a stub, an anchor, the seal, a checkpoint).

    Fields are joined with the unit separator, which none of them contains."""
    text = "\x1f".join((kind, *("" if f is None else str(f) for f in fields)))
    return hmac.digest(key, text.encode(), "sha256").hex()


def macs_equal(expected: str, stored: object) -> bool:
    return isinstance(stored, str) and hmac.compare_digest(expected, stored)


class ChainedEvent(Protocol):
    """What :func:`chain_rows` reads of an event (``store.base.EventRecord``)."""

    @property
    def order_id(self) -> str | None: ...
    @property
    def topic(self) -> str: ...
    @property
    def from_status(self) -> str | None: ...
    @property
    def to_status(self) -> str | None: ...
    @property
    def payload(self) -> str: ...
    @property
    def ts(self) -> datetime: ...


def chain_rows(
    head: Sequence[Any] | None,
    events: Iterable[ChainedEvent],
    key: bytes | None = None,
    base: int = 0,
) -> list[tuple[Any, ...]]:
    """Rows ``(seq, order_id, topic, from, to, payload, ts, prev_hash, hash)`` for
    ``events`` (an order's, or operational ones with no order), chained after ``head`` =
    ``(seq, hash)`` or None, keyed with ``key`` (see :func:`event_hash`).

    ``seq`` is given explicitly (head + 1, …; ``base`` + 1 for an empty chain: the
    first ``seq`` of its partition's range) so it never goes back, even after
    retention removed the newest rows; a unit of work holds the write lock, so the
    head cannot move under it.
    """
    seq = base if head is None else int(head[0])
    prev = GENESIS if head is None or head[1] is None else str(head[1])  # NULL: pre-chain row
    rows: list[tuple[Any, ...]] = []
    for e in events:
        digest = event_hash(
            prev, e.order_id, e.topic, e.from_status, e.to_status, e.payload, e.ts, key
        )
        seq += 1
        rows.append(
            (
                seq,
                e.order_id,
                e.topic,
                e.from_status,
                e.to_status,
                e.payload,
                iso(e.ts),
                prev,
                digest,
            )
        )
        prev = digest
    return rows


#: The chain's head inside a SQLite transaction, ``(seq, hash)``: the newest among live
#: events, pruned events' stubs and anchors (retention may have removed the newest).
SQLITE_HEAD = (
    "SELECT seq, hash FROM ("
    " SELECT seq, hash FROM (SELECT seq, hash FROM order_events"
    "  ORDER BY seq DESC LIMIT 1)"
    " UNION ALL SELECT seq, hash FROM (SELECT seq, hash FROM audit_pruned"
    "  ORDER BY seq DESC LIMIT 1)"
    " UNION ALL SELECT seq, hash FROM (SELECT seq, hash FROM audit_anchors"
    "  ORDER BY seq DESC LIMIT 1)"
    ") ORDER BY seq DESC LIMIT 1"
)

#: The same on PostgreSQL.
PG_HEAD = (
    "SELECT seq, hash FROM ("
    "(SELECT seq, hash FROM order_events ORDER BY seq DESC LIMIT 1) UNION ALL "
    "(SELECT seq, hash FROM audit_pruned ORDER BY seq DESC LIMIT 1) UNION ALL "
    "(SELECT seq, hash FROM audit_anchors ORDER BY seq DESC LIMIT 1)"
    ") AS heads ORDER BY seq DESC LIMIT 1"
)

#: The event log's write lock on PostgreSQL (the one ``store.pg_uow`` takes).
PG_EVENT_LOG_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.event_log', 0))"
)

#: A partition's head on PostgreSQL (parameters: lo, hi three times; migration 0015's
#: ``og_chain_head_in`` is the same on the server).
PG_HEAD_IN = (
    "SELECT seq, hash FROM ("
    "(SELECT seq, hash FROM order_events WHERE seq > %s AND seq < %s"
    " ORDER BY seq DESC LIMIT 1) UNION ALL "
    "(SELECT seq, hash FROM audit_pruned WHERE seq > %s AND seq < %s"
    " ORDER BY seq DESC LIMIT 1) UNION ALL "
    "(SELECT seq, hash FROM audit_anchors WHERE seq > %s AND seq < %s"
    " ORDER BY seq DESC LIMIT 1)"
    ") AS heads ORDER BY seq DESC LIMIT 1"
)


def pg_lock_key(partition: int) -> str:
    """The name of a partition's write lock (partition 0's is the one-chain lock, so
    retention, the seal and processes from before partitions take the same one)."""
    return ".event_log" if partition == 0 else f".event_log#{partition}"


#: A partition's write lock (parameter: :func:`pg_lock_key`).
PG_PARTITION_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || %s, 0))"

#: Topics of the chain's own events (no order; never relayed differently).
PURGE_TOPIC = "audit.purged"
ANCHOR_TOPIC = "audit.anchored"


def intent_digest(payload_hash: str, payload: str) -> str:
    """What an order's first event records of its intent row (its two hashable fields)."""
    return hashlib.sha256(f"{payload_hash}\n{payload}".encode()).hexdigest()


def stub_mac(key: bytes, seq: int, order_id: str, prev: str, digest: str, ts: Any) -> str:
    """The MAC a purge gives the stub it leaves of an event."""
    return record_mac(key, "pruned", seq, order_id, prev, digest, canonical_ts(stored_ts(ts)))


def anchor_mac(key: bytes, seq: int, digest: str) -> str:
    return record_mac(key, "anchor", seq, digest)


def seal_mac(key: bytes, legacy_seq: int, legacy_hash: str | None, positions: str) -> str:
    return record_mac(key, "seal", legacy_seq, legacy_hash, positions)


def stored_ts(value: Any) -> datetime:
    """SQLite keeps times as ISO text, PostgreSQL hands back datetimes."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
