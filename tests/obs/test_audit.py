"""The keyed audit chain: a clean chain verifies; each kind of tampering by someone who
can write the database file but holds no audit key is named."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import pytest

from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.audit import verify_chain
from ordergate.store.chain import GENESIS, event_hash
from ordergate.store.sqlite import SqliteStore
from tests.obs.chainkit import KEY, derived, fill_orders, named, raw, tamperable, verify

_COLUMNS = "seq, order_id, topic, from_status, to_status, payload, ts, prev_hash, hash"


@pytest.fixture
def chained(engine: ExecutionEngine, store: SqliteStore) -> SqliteStore:
    """Four filled orders: 16 events, four per order (intent, submitted, report, filled)."""
    fill_orders(engine, "a", 4)
    return store


def _rows(store: SqliteStore) -> list[tuple[int, str]]:
    return [
        (int(s), str(o))
        for s, o in raw(store).execute("SELECT seq, order_id FROM order_events ORDER BY seq")
    ]


def _rehash_from(conn: object, seq: int, key: bytes | None) -> None:
    """Recompute every hash from ``seq`` on, as an attacker without the audit key can:
    plain sha256 (``key=None``) or a key of their own."""
    rows = conn.execute(  # type: ignore[attr-defined]
        f"SELECT {_COLUMNS} FROM order_events WHERE seq >= ? ORDER BY seq", (seq,)
    ).fetchall()
    prev = conn.execute(  # type: ignore[attr-defined]
        "SELECT hash FROM order_events WHERE seq = ?", (seq - 1,)
    ).fetchone()[0]
    for s, order_id, topic, from_s, to_s, payload, ts, _, _ in rows:
        digest = event_hash(
            prev, order_id, topic, from_s, to_s, payload, datetime.fromisoformat(ts), key
        )
        conn.execute(  # type: ignore[attr-defined]
            "UPDATE order_events SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, s)
        )
        prev = digest


def test_every_event_carries_the_keys_mac(chained: SqliteStore) -> None:
    rows = raw(chained).execute(f"SELECT {_COLUMNS} FROM order_events ORDER BY seq").fetchall()
    assert len(rows) == 16
    prev = GENESIS
    for _, order_id, topic, from_s, to_s, payload, ts, prev_hash, digest in rows:
        when = datetime.fromisoformat(ts)
        assert prev_hash == prev
        assert digest == event_hash(prev, order_id, topic, from_s, to_s, payload, when, KEY)
        assert digest != event_hash(prev, order_id, topic, from_s, to_s, payload, when)
        prev = digest
    result = verify(chained)
    assert result.ok, result.problems
    assert (result.checked, result.head_hash, result.checkpoint_seq) == (16, prev, 16)
    assert result.keyed
    assert result.sealed_at == 0


def test_an_edited_event_is_named(chained: SqliteStore) -> None:
    seq, order_id = _rows(chained)[1]
    tamperable(raw(chained)).execute(
        'UPDATE order_events SET payload = replace(payload, \'"qty":"1"\', \'"qty":"9"\') '
        "WHERE seq = ?",
        (seq,),
    )
    result = verify(chained)
    assert [(p.kind, p.seq, p.order_id) for p in result.problems] == [("edited", seq, order_id)]


def test_an_edit_rehashed_without_the_key_is_named(chained: SqliteStore) -> None:
    """Plain sha256 and an attacker's own key alike: the edited event and every one the
    attacker re-hashed after it fail their MAC."""
    conn = tamperable(raw(chained))
    seq, order_id = _rows(chained)[4]
    conn.execute(
        'UPDATE order_events SET payload = replace(payload, \'"qty":"1"\', \'"qty":"5"\') '
        "WHERE seq = ?",
        (seq,),
    )
    for attacker_key in (None, b"not-the-audit-key-at-all"):
        _rehash_from(conn, seq, attacker_key)
        problems = named(verify(chained))
        assert problems[0] == ("edited", seq, order_id)
        assert {p[1] for p in problems} == set(range(seq, 17))
        assert {p[0] for p in problems} == {"edited"}


def test_a_removed_event_is_named(chained: SqliteStore) -> None:
    rows = _rows(chained)
    removed = rows[5][0]
    after, after_order = rows[6]
    raw(chained).execute("DELETE FROM order_events WHERE seq = ?", (removed,))
    result = verify(chained)
    assert named(result) == [("removed", after, after_order)]
    assert f"seq {removed} removed" in result.problems[0].detail
    # the order row still says it was submitted; the chain no longer does
    assert [(p.kind, p.order_id) for p in derived(result)] == [("order_row", after_order)]


def test_an_inserted_event_is_named(chained: SqliteStore) -> None:
    """A forged cancel appended after the head, linked and hashed as well as one can
    without the key."""
    conn = raw(chained)
    head_seq, head_hash = conn.execute(
        "SELECT seq, hash FROM order_events ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    order_id = _rows(chained)[-1][1]
    payload = json.dumps({"status": "CANCELED"})
    ts = "2026-01-02T15:00:00+00:00"
    forged = event_hash(
        head_hash, order_id, "orders.canceled", "FILLED", "CANCELED", payload,
        datetime.fromisoformat(ts),
    )  # fmt: skip
    conn.execute(
        f"INSERT INTO order_events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (head_seq + 1, order_id, "orders.canceled", "FILLED", "CANCELED", payload, ts,
         head_hash, forged),
    )  # fmt: skip
    result = verify(chained)
    assert named(result) == [("edited", head_seq + 1, order_id)]
    assert "written without the key" in result.problems[0].detail


def test_reordered_events_are_named(chained: SqliteStore) -> None:
    rows = _rows(chained)
    (a, order_a), (b, order_b) = rows[1], rows[5]
    conn = tamperable(raw(chained))
    conn.execute("UPDATE order_events SET seq = -1 WHERE seq = ?", (a,))
    conn.execute("UPDATE order_events SET seq = ? WHERE seq = ?", (a, b))
    conn.execute("UPDATE order_events SET seq = ? WHERE seq = -1", (b,))
    problems = named(verify(chained))
    assert {p[0] for p in problems} == {"reordered"}
    assert (a, order_b) in {(p[1], p[2]) for p in problems}
    assert (b, order_a) in {(p[1], p[2]) for p in problems}


def test_a_cut_tail_is_caught_by_the_checkpoint_without_a_recorded_head(
    chained: SqliteStore,
) -> None:
    rows = _rows(chained)
    raw(chained).execute("DELETE FROM order_events WHERE seq >= ?", (rows[-2][0],))
    result = verify(chained)
    assert named(result) == [("truncated", rows[-3][0], rows[-3][1])]
    assert "seq 15-16 cut off" in result.problems[0].detail
    # the same database without the checkpoint is consistent in itself
    assert verify_chain(raw(chained), key=KEY, derived=False).ok


def test_a_head_recorded_earlier_still_works(chained: SqliteStore, engine: ExecutionEngine) -> None:
    head = verify(chained).head_hash
    fill_orders(engine, "b", 2)
    assert verify(chained, expected_head=head).ok
    raw(chained).execute("DELETE FROM order_events WHERE seq > 10")
    assert "truncated" in {p.kind for p in verify(chained, expected_head=head).problems}


def test_hashes_set_to_null_are_named_with_or_without_a_checkpoint(chained: SqliteStore) -> None:
    tamperable(raw(chained)).execute("UPDATE order_events SET hash = NULL, prev_hash = NULL")
    everything = set(range(1, 17))
    with_checkpoint = named(verify(chained))
    assert {p[1] for p in with_checkpoint if p[0] == "unhashed"} == everything
    alone = named(verify_chain(raw(chained), key=KEY))
    assert alone == [("unhashed", s, o) for s, o in _rows(chained)]


def test_a_fake_prune_is_named(chained: SqliteStore) -> None:
    """An event deleted and its link moved into audit_pruned, as retention would."""
    seq, order_id = _rows(chained)[5]
    conn = raw(chained)
    conn.execute(
        "INSERT INTO audit_pruned (seq, order_id, prev_hash, hash, ts) "
        "SELECT seq, order_id, prev_hash, hash, ts FROM order_events WHERE seq = ?",
        (seq,),
    )
    conn.execute("DELETE FROM order_events WHERE seq = ?", (seq,))
    assert named(verify(chained)) == [("fake_prune", seq, order_id)]
    # a MAC of the attacker's own making does not pass either
    conn.execute("UPDATE audit_pruned SET mac = ? WHERE seq = ?", ("0" * 64, seq))
    assert named(verify(chained)) == [("fake_prune", seq, order_id)]


def test_a_forged_anchor_at_the_head_is_named_and_hides_nothing(chained: SqliteStore) -> None:
    rows = _rows(chained)
    conn = tamperable(raw(chained))
    head_seq, head_hash = conn.execute(
        "SELECT seq, hash FROM order_events ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    conn.execute(
        "INSERT INTO audit_anchors (seq, hash, created_at, note) VALUES (?, ?, ?, 'cut')",
        (head_seq, head_hash, "2026-01-03T00:00:00+00:00"),
    )
    conn.execute(
        'UPDATE order_events SET payload = replace(payload, \'"qty":"1"\', \'"qty":"9"\') '
        "WHERE seq = ?",
        (rows[1][0],),
    )
    result = verify(chained)
    assert named(result) == [("forged_anchor", head_seq, ""), ("edited", *rows[1])]
    assert result.anchor_seq == 0  # the walk started at genesis, not at the forgery


def test_an_edited_or_removed_seal_is_named(chained: SqliteStore) -> None:
    conn = raw(chained)
    conn.execute("UPDATE audit_seal SET legacy_seq = 16")  # pass every event off as legacy
    assert named(verify(chained))[0] == ("forged_seal", 16, "")
    conn.execute("DELETE FROM audit_seal")
    assert named(verify(chained))[0] == ("unsealed", 0, "")


def test_a_verify_without_the_key_checks_the_plain_chain_only(chained: SqliteStore) -> None:
    """Keyed events do not pass as plain sha256: a verifier without the key is told."""
    problems = verify_chain(raw(chained), derived=False).problems
    assert {p.kind for p in problems} == {"edited"}
    assert len(problems) == 16


def test_derived_rows_agree_on_a_clean_chain(chained: SqliteStore) -> None:
    assert not derived(verify(chained))


def test_intent_digest_is_what_the_first_event_records(chained: SqliteStore) -> None:
    conn = raw(chained)
    payload_hash, payload, order_id = conn.execute(
        "SELECT payload_hash, payload, order_id FROM intents LIMIT 1"
    ).fetchone()
    first = json.loads(
        conn.execute(
            "SELECT payload FROM order_events WHERE order_id = ? ORDER BY seq LIMIT 1",
            (order_id,),
        ).fetchone()[0]
    )
    digest = hashlib.sha256(f"{payload_hash}\n{payload}".encode()).hexdigest()
    assert first["intent_digest"] == digest


def test_an_event_inserted_in_the_middle_is_named(chained: SqliteStore) -> None:
    """Room made by renumbering the later events, the forged event linked to the one
    before it: its MAC fails, and the event after it no longer follows it."""
    conn = tamperable(raw(chained))
    rows = _rows(chained)
    at, order_id = rows[5][0] + 1, rows[5][1]
    for seq, _ in reversed(rows[6:]):
        conn.execute("UPDATE order_events SET seq = seq + 1 WHERE seq = ?", (seq,))
    prev, ts = conn.execute("SELECT hash, ts FROM order_events WHERE seq = ?", (at - 1,)).fetchone()
    payload = '{"note":"forged"}'
    forged = event_hash(prev, order_id, "ops.note", None, None, payload, datetime.fromisoformat(ts))
    conn.execute(
        f"INSERT INTO order_events ({_COLUMNS}) VALUES (?, ?, 'ops.note', NULL, NULL, ?, ?, ?, ?)",
        (at, order_id, payload, ts, prev, forged),
    )
    problems = named(verify(chained))
    assert problems[0] == ("edited", at, order_id)
    assert problems[1][:2] == ("reordered", at + 1)
