"""Sealing the chain with the audit key, and appending the chain's own events.

The first store opened with a key seals the chain (``audit_seal``, one row with a MAC):
it records where the chain written before the key ends and the positions there, and
gives a MAC to the stubs and anchors retention left before — from then on, every event
after the seal must carry the key's MAC, and every stub and anchor too. A store opened
with a different key than the seal's refuses to start, so two keys never mix in one
chain.

:func:`append_events` extends the chain from outside a store's unit of work (a purge
records itself as ``audit.purged`` and ``audit.anchored`` events).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ordergate.domain.errors import ConfigError
from ordergate.store.chain import (
    ChainedEvent,
    anchor_mac,
    chain_rows,
    macs_equal,
    seal_mac,
    stub_mac,
)
from ordergate.store.chain_sources import ChainStore

_INSERT = (
    "INSERT INTO order_events (seq, order_id, topic, from_status, to_status, payload, ts,"
    " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def positions_snapshot(db: ChainStore) -> list[list[str]]:
    """Every position, as text (what the seal and each purge record)."""
    return [
        [str(v) for v in row]
        for row in db.rows(
            "SELECT account_id, symbol, qty, avg_price, realized_gross, commission FROM positions"
            f" ORDER BY account_id{db.collate}, symbol{db.collate}"
        )
    ]


def seal_chain(db: ChainStore, key: bytes, now: datetime | None = None) -> bool:
    """Seal the chain with ``key`` unless it is sealed; True when this call sealed it.

    Raises :class:`ConfigError` when the chain was sealed with another key.
    """
    db.begin_write()
    try:
        row = db.one("SELECT legacy_seq, legacy_hash, positions, mac FROM audit_seal WHERE id = 1")
        if row is not None:
            if not macs_equal(seal_mac(key, int(row[0]), row[1], str(row[2])), row[3]):
                raise ConfigError(
                    "the audit key does not match the one this database was sealed with: "
                    "give every process of this database the same key (ORDERGATE_AUDIT_KEY, "
                    "or the key file in audit_dir); 'ordergate audit verify' names tampering"
                )
            db.execute("ROLLBACK")
            return False
        head = db.head()
        legacy_seq = 0 if head is None else int(head[0])
        legacy_hash = None if head is None or head[1] is None else str(head[1])
        positions = json.dumps(positions_snapshot(db), separators=(",", ":"))
        db.execute(
            "INSERT INTO audit_seal (id, legacy_seq, legacy_hash, positions, created_at, mac)"
            " VALUES (1, ?, ?, ?, ?, ?)",
            (
                legacy_seq,
                legacy_hash,
                positions,
                (now or datetime.now(UTC)).isoformat(),
                seal_mac(key, legacy_seq, legacy_hash, positions),
            ),
        )
        _vouch_for_retention(db, key)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return True


def _vouch_for_retention(db: ChainStore, key: bytes) -> None:
    """Give the stubs and anchors left before the key their MAC."""
    stubs = list(db.rows("SELECT seq, order_id, prev_hash, hash, ts FROM audit_pruned"))
    db.many(
        "UPDATE audit_pruned SET mac = ? WHERE seq = ?",
        [(stub_mac(key, int(s), str(o), str(p), str(h), ts), s) for s, o, p, h, ts in stubs],
    )
    anchors = list(db.rows("SELECT id, seq, hash FROM audit_anchors"))
    db.many(
        "UPDATE audit_anchors SET mac = ? WHERE id = ?",
        [(anchor_mac(key, int(seq), str(h)), i) for i, seq, h in anchors],
    )


def append_events(
    db: ChainStore, events: Sequence[ChainedEvent], key: bytes | None
) -> tuple[int, str] | None:
    """Chain ``events`` after the head (inside :meth:`ChainStore.begin_write`); the new
    head, or None when there was nothing to write."""
    rows: list[tuple[Any, ...]] = chain_rows(db.head(), events, key)
    if not rows:
        return None
    db.many(_INSERT, rows)
    return int(rows[-1][0]), str(rows[-1][8])
