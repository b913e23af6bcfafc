"""The audit hash chain: a clean chain verifies; every kind of tampering is named."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.audit import verify_chain
from ordergate.obs.chain import GENESIS, event_hash
from ordergate.store.sqlite import SqliteStore
from tests.obs.chainkit import fill_orders, raw, tamperable


@pytest.fixture
def chained(engine: ExecutionEngine, store: SqliteStore) -> SqliteStore:
    fill_orders(engine, "a", 4)
    return store


def _rows(store: SqliteStore) -> list[tuple[int, str]]:
    return [
        (int(s), str(o)) for s, o in raw(store).execute("SELECT seq, order_id FROM order_events")
    ]


def test_every_event_is_chained_from_genesis(chained: SqliteStore) -> None:
    conn = raw(chained)
    rows = conn.execute(
        "SELECT seq, order_id, topic, from_status, to_status, payload, ts, prev_hash, hash "
        "FROM order_events ORDER BY seq"
    ).fetchall()
    assert len(rows) >= 16
    prev = GENESIS
    for seq, order_id, topic, from_s, to_s, payload, ts, prev_hash, digest in rows:
        assert prev_hash == prev, seq
        assert digest == event_hash(
            prev, order_id, topic, from_s, to_s, payload, datetime.fromisoformat(ts)
        )
        prev = digest
    result = verify_chain(conn)
    assert result.ok
    assert result.checked == len(rows)
    assert result.head_hash == prev


def test_edited_event_is_named(chained: SqliteStore) -> None:
    seq, order_id = _rows(chained)[5]
    conn = tamperable(raw(chained))
    conn.execute(
        'UPDATE order_events SET payload = replace(payload, \'"qty":"1"\', \'"qty":"9"\') '
        "WHERE seq = ?",
        (seq,),
    )
    problems = verify_chain(conn).problems
    assert [(p.kind, p.seq, p.order_id) for p in problems] == [("edited", seq, order_id)]


def test_edit_that_rewrites_its_hash_is_still_named(chained: SqliteStore) -> None:
    seq, order_id = _rows(chained)[5]
    conn = tamperable(raw(chained))
    topic, from_s, to_s, payload, ts, prev = conn.execute(
        "SELECT topic, from_status, to_status, payload, ts, prev_hash FROM order_events "
        "WHERE seq = ?",
        (seq,),
    ).fetchone()
    body = json.loads(payload)
    body["filled_qty"] = "1000"
    forged = json.dumps(body, separators=(",", ":"))
    new_hash = event_hash(prev, order_id, topic, from_s, to_s, forged, datetime.fromisoformat(ts))
    conn.execute(
        "UPDATE order_events SET payload = ?, hash = ? WHERE seq = ?", (forged, new_hash, seq)
    )
    problems = verify_chain(conn).problems
    assert [(p.kind, p.seq, p.order_id) for p in problems] == [("edited", seq, order_id)]


def test_removed_event_is_named(chained: SqliteStore) -> None:
    rows = _rows(chained)
    removed_seq = rows[6][0]
    next_seq, next_order = rows[7]
    conn = raw(chained)
    conn.execute("DELETE FROM order_events WHERE seq = ?", (removed_seq,))
    problems = verify_chain(conn).problems
    assert len(problems) == 1
    p = problems[0]
    assert (p.kind, p.seq, p.order_id) == ("removed", next_seq, next_order)
    assert f"seq {removed_seq} removed" in p.detail


def test_reordered_events_are_named(chained: SqliteStore) -> None:
    rows = _rows(chained)
    (a, order_a), (b, order_b) = rows[3], rows[4]
    conn = tamperable(raw(chained))
    conn.execute("UPDATE order_events SET seq = -1 WHERE seq = ?", (a,))
    conn.execute("UPDATE order_events SET seq = ? WHERE seq = ?", (a, b))
    conn.execute("UPDATE order_events SET seq = ? WHERE seq = -1", (b,))
    problems = verify_chain(conn).problems
    assert {p.kind for p in problems} == {"reordered"}
    assert (a, order_b) in {(p.seq, p.order_id) for p in problems}
    assert (b, order_a) in {(p.seq, p.order_id) for p in problems}


def test_cut_off_tail_is_caught_with_a_recorded_head(chained: SqliteStore) -> None:
    conn = raw(chained)
    head = verify_chain(conn).head_hash
    last_seq = _rows(chained)[-1][0]
    conn.execute("DELETE FROM order_events WHERE seq = ?", (last_seq,))
    assert verify_chain(conn).ok  # consistent in itself ...
    problems = verify_chain(conn, expected_head=head).problems
    assert [p.kind for p in problems] == ["truncated"]  # ... but not with the recorded head


def test_a_recorded_head_still_verifies_after_more_events(
    chained: SqliteStore, engine: ExecutionEngine
) -> None:
    head = verify_chain(raw(chained)).head_hash
    fill_orders(engine, "b", 2)
    assert verify_chain(raw(chained), expected_head=head).ok


def test_cli_verify_exit_codes_and_names(chained: SqliteStore, tmp_path: Path) -> None:
    from ordergate.service.__main__ import app

    runner = CliRunner()
    db = str(Path(chained.path))
    ok = runner.invoke(app, ["audit", "verify", "--db", db])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("OK")
    seq, order_id = _rows(chained)[2]
    tamperable(raw(chained)).execute(
        "UPDATE order_events SET ts = '2020-01-01T00:00:00+00:00' WHERE seq = ?", (seq,)
    )
    bad = runner.invoke(app, ["audit", "verify", "--db", db, "--json"])
    assert bad.exit_code == 1
    data = json.loads(bad.output)
    assert data["ok"] is False
    assert data["problems"][0] == {
        "kind": "edited",
        "seq": seq,
        "order_id": order_id,
        "detail": "content does not match hash",
    }
