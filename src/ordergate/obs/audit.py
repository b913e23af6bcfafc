"""``ordergate audit verify``: walk the keyed hash chain of ``order_events`` and name
every event, stub, anchor or derived row that was edited, removed, inserted or reordered.

What the audit key (``ordergate.obs.keys``, kept outside the database) vouches for:

- every event after the seal carries ``HMAC(key, prev_hash + event)``: an edit, an
  insert, or an edit re-hashed without the key is **edited**; a row with no hash is
  **unhashed** (rows from before the seal keep the plain sha256 chain they had);
- a purged event's stub in ``audit_pruned`` carries a MAC made by the purge: a stub
  without one (an event deleted and its link moved there) is a **fake_prune**;
- a retention anchor carries a MAC: one without is a **forged_anchor**, and the walk
  starts after the newest genuine anchor instead;
- the seal (``audit_seal``: where the pre-key chain ends, positions there) carries one:
  missing or altered, it is **unsealed** / **forged_seal**;
- the checkpoint file outside the database holds the newest head a writer committed:
  when that head is gone, the tail was **truncated** (or that event rewritten).

The walk starts after the newest anchor (the cut retention left, or the genesis hash)
and goes in ``seq`` order over the live events and the stubs of purged ones; a broken
link is **removed** (its predecessor is gone: the missing ``seq`` range is named) or
**reordered** (its predecessor exists elsewhere). Then the rows derived from the events
— orders, fills, positions, intents — are re-folded from them
(:mod:`ordergate.obs.derived`).

Read the checkpoint *before* the walk's snapshot (the CLI does): a writer checkpoints
after it commits, so a checkpoint read first never names a head the snapshot lacks.

A partitioned chain (``store.chain``) is walked partition by partition, each from its
own newest anchor (or its genesis) within its ``seq`` range, each against its own
checkpoint: the partitions that hold rows and those the checkpoint names, so a partition
removed whole is **truncated** too. The seal covers partition 0, where every row written
before partitions is. The result's head and checkpoint fields are partition 0's; every
partition's are in ``VerifyResult.partitions``.
"""

from __future__ import annotations

import json
import sqlite3

from ordergate.obs.derived import verify_derived
from ordergate.obs.findings import Problem, VerifyResult
from ordergate.store.chain import (
    GENESIS,
    PURGE_TOPIC,
    anchor_mac,
    event_hash,
    macs_equal,
    seal_mac,
    seq_range,
    stored_ts,
    stub_mac,
)
from ordergate.store.chain_sources import (
    ChainSource,
    ChainStore,
    PostgresChain,
    SqliteChain,
    chain_of,
    partitions,
)
from ordergate.store.checkpoint import CheckpointState

__all__ = [
    "ChainSource",
    "ChainStore",
    "PostgresChain",
    "Problem",
    "SqliteChain",
    "VerifyResult",
    "anchor_mac",
    "chain_of",
    "stub_mac",
    "verify_chain",
]


_WALK = (
    "SELECT seq, order_id, topic, from_status, to_status, payload, ts, prev_hash, hash,"
    " 0, NULL FROM order_events WHERE seq > ? AND seq < ?"
    " UNION ALL SELECT seq, order_id, NULL, NULL, NULL, NULL, ts, prev_hash, hash, 1, mac"
    " FROM audit_pruned WHERE seq > ? AND seq < ? ORDER BY seq"
)
_FIND = (
    "SELECT seq, order_id FROM order_events WHERE hash = ?"
    " UNION ALL SELECT seq, order_id FROM audit_pruned WHERE hash = ? LIMIT 1"
)
_AT = (
    "SELECT hash FROM order_events WHERE seq = ?"
    " UNION ALL SELECT hash FROM audit_pruned WHERE seq = ?"
    " UNION ALL SELECT hash FROM audit_anchors WHERE seq = ?"
)


def verify_chain(
    conn: sqlite3.Connection | ChainSource,
    *,
    key: bytes | None = None,
    checkpoint: CheckpointState | None = None,
    expected_head: str | None = None,
    derived: bool = True,
) -> VerifyResult:
    """Walk the whole chain once, in one consistent read of the database.

    Without ``key`` only the plain chain is checked (what a database written without
    a key has); with it, everything the key vouches for (see the module).
    """
    source = chain_of(conn)
    result = VerifyResult(keyed=key is not None)
    states = {} if checkpoint is None else checkpoint.by_partition()
    with source.snapshot():
        legacy_seq = _seal(source, key, result)
        found = set(partitions(source.one)) | {p for p, s in states.items() if s.seq is not None}
        heads = []
        for partition in sorted(found | {0}):
            part = result if partition == 0 else VerifyResult(keyed=key is not None)
            anchor_seq, prev = _start(source, key, part, partition)
            _walk(source, key, legacy_seq, anchor_seq, prev, part, partition)
            if partition in states:
                _check_checkpoint(source, states[partition], part)
            heads.append(part.head_hash)
            if partition != 0:
                _merge(result, part)
            if len(found) > 1 or partition != 0:
                result.partitions[partition] = {
                    "anchor_seq": part.anchor_seq,
                    "head_seq": part.head_seq,
                    "head_hash": part.head_hash,
                    "checkpoint_seq": part.checkpoint_seq,
                    "checked": part.checked,
                }
        if expected_head is not None and expected_head not in heads:
            _head_problem(source, expected_head, result)
        if derived:
            verify_derived(source, result)
    return result


def _merge(result: VerifyResult, part: VerifyResult) -> None:
    """A partition's walk into the whole result (counts and problems)."""
    result.checked += part.checked
    result.pruned += part.pruned
    result.legacy += part.legacy
    for problem in part.problems:
        result.add(problem)


def _seal(source: ChainSource, key: bytes | None, result: VerifyResult) -> int | None:
    """The last seq written before the key (None: no key given: all is plain sha256)."""
    if key is None:
        return None
    row = source.one("SELECT legacy_seq, legacy_hash, positions, mac FROM audit_seal WHERE id = 1")
    if row is None:
        result.add(Problem("unsealed", 0, "", "the chain has no seal: it was removed"))
        return 0
    legacy_seq, legacy_hash, positions = int(row[0]), row[1], str(row[2])
    if not macs_equal(seal_mac(key, legacy_seq, legacy_hash, positions), row[3]):
        result.add(
            Problem("forged_seal", legacy_seq, "", "the seal does not carry the audit key's MAC")
        )
        return 0
    result.sealed_at = legacy_seq
    result.baseline = (legacy_seq, json.loads(positions))
    return legacy_seq


def _start(
    source: ChainSource, key: bytes | None, result: VerifyResult, partition: int = 0
) -> tuple[int, str]:
    """The partition's newest anchor the key vouches for (any newest one without a
    key); else its start (``seq`` just below its range) and the genesis hash."""
    lo, hi = seq_range(partition)
    result.anchor_seq = lo
    for seq, digest, mac in source.rows(
        "SELECT seq, hash, mac FROM audit_anchors WHERE seq > ? AND seq < ?"
        " ORDER BY seq DESC, id DESC",
        (lo, hi),
    ):
        if key is None or macs_equal(anchor_mac(key, int(seq), str(digest)), mac):
            result.anchor_seq = int(seq)
            return int(seq), str(digest)
        result.add(
            Problem(
                "forged_anchor",
                int(seq),
                "",
                "a retention anchor without the audit key's MAC: verification does not start there",
            )
        )
    return lo, GENESIS


def _walk(
    source: ChainSource,
    key: bytes | None,
    legacy_seq: int | None,
    anchor_seq: int,
    prev: str,
    result: VerifyResult,
    partition: int = 0,
) -> None:
    lo, hi = seq_range(partition)
    prev_seq = anchor_seq
    started = anchor_seq > lo
    for row in source.rows(_WALK, (anchor_seq, hi, anchor_seq, hi)):
        seq, order_id, stored_prev, stored_hash, pruned = (
            int(row[0]),
            "" if row[1] is None else str(row[1]),
            row[7],
            row[8],
            bool(row[9]),
        )
        keyed = key is not None and (legacy_seq is None or seq > legacy_seq)
        if stored_hash is None:
            if started or keyed:
                result.add(Problem("unhashed", seq, order_id, "event has no hash"))
            else:
                result.legacy += 1
            prev_seq = seq
            continue
        started = True
        result.checked += 1
        result.pruned += pruned
        if stored_prev != prev:
            result.add(_link_problem(source, seq, order_id, str(stored_prev), prev_seq))
        if pruned:
            if key is not None and not macs_equal(
                stub_mac(key, seq, order_id, str(stored_prev), str(stored_hash), row[6]), row[10]
            ):
                result.add(
                    Problem(
                        "fake_prune",
                        seq,
                        order_id,
                        "marked purged, but no purge made with the audit key removed it "
                        "(its stub has no valid MAC)",
                    )
                )
        else:
            actual = event_hash(
                str(stored_prev),
                row[1],  # NULL for operational events: hashed as null
                row[2],
                row[3],
                row[4],
                row[5],
                stored_ts(row[6]),
                key if keyed else None,
            )
            if actual != stored_hash:
                detail = "content does not match hash"
                if keyed:
                    detail = "content does not match its MAC (edited, or written without the key)"
                result.add(Problem("edited", seq, order_id, detail))
            elif row[2] == PURGE_TOPIC:
                body = json.loads(str(row[5]))
                positions = body.get("positions")
                if positions is not None:
                    result.baseline = (seq, positions)
                    heads = body.get("partition_heads") or {}
                    result.baseline_heads = {int(p): int(h) for p, h in heads.items()}
        prev, prev_seq = str(stored_hash), seq
    result.head_seq, result.head_hash = prev_seq, prev


def _link_problem(
    source: ChainSource, seq: int, order_id: str, stored_prev: str, prev_seq: int
) -> Problem:
    """Why the link into ``seq`` is broken: its predecessor moved, vanished or changed."""
    found = source.one(_FIND, (stored_prev, stored_prev))
    if found is not None:
        return Problem(
            "reordered",
            seq,
            order_id,
            f"follows seq {found[0]} (order {found[1] or '-'}) in the chain but is stored after "
            f"seq {prev_seq}",
        )
    if seq - prev_seq > 1:
        gap = f"seq {prev_seq + 1}" if seq - prev_seq == 2 else f"seq {prev_seq + 1}-{seq - 1}"
        return Problem("removed", seq, order_id, f"{gap} removed before this event")
    return Problem(
        "edited",
        prev_seq,
        _order_of(source, prev_seq),
        f"rewritten together with its hash (seq {seq} still links to the original)",
    )


def _check_checkpoint(source: ChainSource, state: CheckpointState, result: VerifyResult) -> None:
    """The head a writer checkpointed must still be in the chain, at its seq."""
    if state.forged:
        result.add(
            Problem("forged_checkpoint", 0, "", "a checkpoint slot has no valid audit key MAC")
        )
    if state.seq is None or state.hash is None:
        return
    seq, digest = state.seq, state.hash
    result.checkpoint_seq = seq
    if seq <= result.anchor_seq:
        return  # folded into an anchor the key vouches for
    found = [row[0] for row in source.rows(_AT, (seq, seq, seq))]
    if digest in found:
        return
    order_id = _order_of(source, seq)
    if not found and result.head_seq < seq:
        cut = f"seq {result.head_seq + 1}" + ("" if seq == result.head_seq + 1 else f"-{seq}")
        result.add(
            Problem(
                "truncated",
                result.head_seq,
                _order_of(source, result.head_seq),
                f"{cut} cut off the end of the chain: the checkpoint outside the database "
                f"records head seq {seq}",
            )
        )
    elif not found:
        result.add(Problem("removed", seq, order_id, "the checkpointed head event is gone"))
    elif found[0] is None:
        result.add(Problem("unhashed", seq, order_id, "the checkpointed head has lost its hash"))
    else:
        result.add(
            Problem(
                "edited",
                seq,
                order_id,
                "the checkpointed head was rewritten (its hash is not the checkpoint's)",
            )
        )


def _head_problem(source: ChainSource, expected: str, result: VerifyResult) -> None:
    """A head recorded earlier must still be in the chain (later events may follow it)."""
    if source.one(_FIND, (expected, expected)) is not None:
        return
    if source.one("SELECT 1 FROM audit_anchors WHERE hash = ?", (expected,)):
        return
    result.add(
        Problem(
            "truncated",
            result.head_seq,
            _order_of(source, result.head_seq),
            "the recorded head is not in the chain: events up to it were removed or rewritten",
        )
    )


def _order_of(source: ChainSource, seq: int) -> str:
    row = source.one(
        "SELECT order_id FROM order_events WHERE seq = ?"
        " UNION ALL SELECT order_id FROM audit_pruned WHERE seq = ?",
        (seq, seq),
    )
    return "" if row is None or row[0] is None else str(row[0])
