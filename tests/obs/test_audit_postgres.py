"""The keyed audit chain on PostgreSQL: the same walk as SQLite's names the same tampering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from ordergate.brokers.paper import PaperBroker
from ordergate.config import load_settings
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.audit import PostgresChain, VerifyResult, verify_chain
from ordergate.obs.keys import checkpoint_for
from ordergate.store.chain import event_hash
from ordergate.store.checkpoint import AuditTrail
from tests.obs.chainkit import KEY, derived, fill_orders, named
from tests.store.pg import fresh_schema, server_url

pytestmark = pytest.mark.postgres


def _trail(url: str) -> AuditTrail:
    """The key, and the checkpoint where ``ordergate audit verify`` looks for it."""
    return AuditTrail(KEY, checkpoint_for(load_settings(database_url=url), KEY))


@pytest.fixture
def pg_url(audit_dir: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from ordergate.store.postgres import PostgresStore

    monkeypatch.setenv("ORDERGATE_AUDIT_KEY", KEY.hex())
    with fresh_schema(server_url()) as url:
        store = PostgresStore(url, min_size=1, max_size=2, audit=_trail(url))
        store.migrate()
        fill_orders(ExecutionEngine(store, PaperBroker()), "pg", 3)
        store.close()
        yield url


@pytest.fixture
def conn(pg_url: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute("ALTER TABLE order_events DISABLE TRIGGER order_events_no_update")
        yield c


def _verify(pg_url: str, conn: Any) -> VerifyResult:
    checkpoint = _trail(pg_url).checkpoint
    assert checkpoint is not None
    state = checkpoint.read()
    return verify_chain(PostgresChain(conn), key=KEY, checkpoint=state)


def _rows(conn: Any) -> list[tuple[int, str]]:
    return [
        (int(s), str(o))
        for s, o in conn.execute("SELECT seq, order_id FROM order_events ORDER BY seq")
    ]


def test_a_clean_keyed_chain_verifies(pg_url: str, conn: Any) -> None:
    result = _verify(pg_url, conn)
    assert result.ok, result.problems
    assert result.checked == len(_rows(conn)) == 3 * 4
    assert result.checkpoint_seq == 12


def test_an_edited_and_a_removed_event_are_named(pg_url: str, conn: Any) -> None:
    rows = _rows(conn)
    edited, edited_order = rows[1]
    removed = rows[5][0]
    after_removed, after_order = rows[6]
    conn.execute(
        'UPDATE order_events SET payload = replace(payload, \'"qty":"1"\', \'"qty":"9"\') '
        "WHERE seq = %s",
        (edited,),
    )
    conn.execute("DELETE FROM order_events WHERE seq = %s", (removed,))
    assert named(_verify(pg_url, conn)) == [
        ("edited", edited, edited_order),
        ("removed", after_removed, after_order),
    ]


def test_a_cut_tail_null_hashes_and_a_rehash_are_named(pg_url: str, conn: Any) -> None:
    rows = _rows(conn)
    conn.execute("DELETE FROM order_events WHERE seq = %s", (rows[-1][0],))
    assert named(_verify(pg_url, conn)) == [("truncated", *rows[-2])]
    # re-hashed without the key (plain sha256) from the second event on
    prev = conn.execute("SELECT hash FROM order_events WHERE seq = 1").fetchone()[0]
    for seq, oid, topic, f, t, payload, ts in conn.execute(
        "SELECT seq, order_id, topic, from_status, to_status, payload, ts FROM order_events "
        "WHERE seq > 1 ORDER BY seq"
    ).fetchall():
        digest = event_hash(prev, oid, topic, f, t, payload, ts)
        conn.execute(
            "UPDATE order_events SET prev_hash = %s, hash = %s WHERE seq = %s", (prev, digest, seq)
        )
        prev = digest
    assert named(_verify(pg_url, conn))[0] == ("edited", *rows[1])
    conn.execute("UPDATE order_events SET hash = NULL, prev_hash = NULL")
    unhashed = {p[1] for p in named(_verify(pg_url, conn)) if p[0] == "unhashed"}
    assert unhashed == {s for s, _ in rows[:-1]}


def test_a_fake_prune_and_a_forged_anchor_are_named(pg_url: str, conn: Any) -> None:
    rows = _rows(conn)
    seq, order_id = rows[5]
    conn.execute(
        "INSERT INTO audit_pruned (seq, order_id, prev_hash, hash, ts) "
        "SELECT seq, order_id, prev_hash, hash, ts FROM order_events WHERE seq = %s",
        (seq,),
    )
    conn.execute("DELETE FROM order_events WHERE seq = %s", (seq,))
    conn.execute(
        "INSERT INTO audit_anchors (seq, hash, created_at, note) "
        "SELECT seq, hash, now(), 'cut' FROM order_events ORDER BY seq DESC LIMIT 1"
    )
    assert named(_verify(pg_url, conn)) == [
        ("forged_anchor", rows[-1][0], ""),
        ("fake_prune", seq, order_id),
    ]


def test_edited_derived_rows_are_named(pg_url: str, conn: Any) -> None:
    order_id = _rows(conn)[0][1]
    conn.execute("UPDATE fills SET last_px = 1 WHERE order_id = %s", (order_id,))
    conn.execute("UPDATE orders SET status = 'CANCELED' WHERE order_id = %s", (order_id,))
    conn.execute("UPDATE positions SET qty = 100")
    conn.execute("UPDATE intents SET payload = payload || ' ' WHERE order_id = %s", (order_id,))
    result = _verify(pg_url, conn)
    assert not named(result)
    assert sorted(p.kind for p in derived(result)) == [
        "fill_row",
        "intent_row",
        "order_row",
        "position_row",
    ]


def test_cli_verifies_a_postgres_database(pg_url: str, conn: Any) -> None:
    from ordergate.service.__main__ import app

    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--db", pg_url, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["checkpoint_seq"] == 12
    last = _rows(conn)[-1][0]
    conn.execute("DELETE FROM order_events WHERE seq = %s", (last,))
    cut = runner.invoke(app, ["audit", "verify", "--db", pg_url, "--json"])  # no --head
    assert cut.exit_code == 1
    assert [p["kind"] for p in json.loads(cut.output)["problems"]][:1] == ["truncated"]


def test_a_keyed_purge_on_postgres_keeps_the_chain_verifiable(audit_dir: object) -> None:
    """Retention runs on PostgreSQL through the same code: old final orders go, the
    cut is anchored with the key's MAC, the purge is recorded in the chain, open
    orders stay and the chain goes on from the anchor."""
    import psycopg

    from ordergate.clock import SequentialIds, SimulatedClock
    from ordergate.obs.retention import RetentionPolicy, purge
    from ordergate.store.postgres import PostgresStore
    from tests.obs.chainkit import resting_order

    with fresh_schema(server_url()) as url:
        trail = _trail(url)
        store = PostgresStore(url, min_size=1, max_size=2, audit=trail)
        store.migrate()
        clock = SimulatedClock()
        engine = ExecutionEngine(store, PaperBroker(clock=clock), clock=clock, ids=SequentialIds())
        old = fill_orders(engine, "old", 3)
        resting = resting_order(engine, "rest")
        clock.advance(timedelta(days=400))
        new = fill_orders(engine, "new", 2)
        with psycopg.connect(url, autocommit=True) as conn:
            chain = PostgresChain(conn)
            options: dict[str, Any] = {"key": KEY, "checkpoint": trail.checkpoint}
            dry = purge(chain, RetentionPolicy(), clock.now(), dry_run=True, **options)
            assert dry.orders == 3
            assert all(store.get_order(o) is not None for o in old)
            result = purge(chain, RetentionPolicy(), clock.now(), **options)
            assert (result.orders, result.fills, result.intents) == (3, 3, 3)
            assert result.anchor_seq is not None
            assert all(store.get_order(o) is None for o in old)
            assert all(store.get_order(o) is not None for o in [*new, resting])
            assert trail.checkpoint is not None
            check = verify_chain(chain, key=KEY, checkpoint=trail.checkpoint.read())
            assert check.ok, check.problems
            assert check.anchor_seq == result.anchor_seq
            assert check.checkpoint_seq is not None
            assert check.checkpoint_seq > result.anchor_seq  # the purge's own events
            fill_orders(engine, "later", 2)
            assert verify_chain(chain, key=KEY, checkpoint=trail.checkpoint.read()).ok
        store.close()


def test_an_unkeyed_postgres_chain_is_sealed_by_the_first_keyed_store(audit_dir: object) -> None:
    """What a database held before the key is vouched for by the seal; what follows is
    keyed; another key than the seal's is refused."""
    import psycopg

    from ordergate.domain.errors import ConfigError
    from ordergate.store.postgres import PostgresStore

    with fresh_schema(server_url()) as url:
        old = PostgresStore(url, min_size=1, max_size=2)
        old.migrate()
        fill_orders(ExecutionEngine(old, PaperBroker()), "plain", 2)
        old.close()
        trail = _trail(url)
        keyed = PostgresStore(url, min_size=1, max_size=2, audit=trail)
        keyed.migrate()
        fill_orders(ExecutionEngine(keyed, PaperBroker()), "keyed", 1)
        keyed.close()
        with psycopg.connect(url, autocommit=True) as conn:
            result = _verify(url, conn)
            assert result.ok, result.problems
            assert (result.sealed_at, result.checkpoint_seq) == (8, 12)
        other = PostgresStore(url, min_size=1, max_size=2, audit=AuditTrail(b"x" * 32))
        with pytest.raises(ConfigError, match="does not match"):
            other.migrate()
        other.close()


def test_cli_verifies_a_partitioned_postgres_chain(
    audit_dir: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ordergate audit verify`` walks each partition against its own checkpoint (the
    files beside the database's), and names a cut tail of one of them."""
    import psycopg

    from ordergate.service.__main__ import app
    from ordergate.store.chain import SPAN, partition_of
    from ordergate.store.postgres import PostgresStore

    monkeypatch.setenv("ORDERGATE_AUDIT_KEY", KEY.hex())
    with fresh_schema(server_url()) as url:
        store = PostgresStore(url, min_size=1, max_size=2, audit=_trail(url))
        store.migrate()
        store.set_chain_partitions(4)
        engine = ExecutionEngine(store, PaperBroker())
        engine.mark("AAPL", "100")
        accounts = [f"acct-{n}" for n in range(12)]
        for n, account in enumerate(accounts):
            engine.submit(
                {
                    "idempotency_key": f"k{n}",
                    "account_id": account,
                    "symbol": "AAPL",
                    "side": "buy",
                    "qty": "1",
                }
            )
        store.close()
        used = sorted({partition_of(a, 4) for a in accounts})
        runner = CliRunner()
        ok = runner.invoke(app, ["audit", "verify", "--db", url, "--json"])
        assert ok.exit_code == 0, ok.output
        walked = json.loads(ok.output)["partitions"]
        assert sorted(int(p) for p in walked) == sorted({0, *used})
        for p in used:
            assert walked[str(p)]["checkpoint_seq"] == walked[str(p)]["head_seq"] > p * SPAN
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER TABLE order_events DISABLE TRIGGER order_events_no_update")
            last = max(used)
            conn.execute("DELETE FROM order_events WHERE seq = (SELECT max(seq) FROM order_events)")
        cut = runner.invoke(app, ["audit", "verify", "--db", url, "--json"])
        assert cut.exit_code == 1
        problems = json.loads(cut.output)["problems"]
        assert [(p["kind"], p["seq"] // SPAN) for p in problems] == [("truncated", last)]


def test_cli_shows_and_sets_the_chain_partitions(pg_url: str, tmp_path: Any) -> None:
    from ordergate.service.__main__ import app

    runner = CliRunner()
    shown = runner.invoke(app, ["audit", "partitions", "--db", pg_url, "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == {"partitions": 1, "holding_events": [0]}
    raised = runner.invoke(app, ["audit", "partitions", "--set", "4", "--db", pg_url, "--json"])
    assert raised.exit_code == 0, raised.output
    assert json.loads(raised.output)["partitions"] == 4
    again = runner.invoke(app, ["audit", "partitions", "--db", pg_url])
    assert again.exit_code == 0
    assert again.output.startswith("4 chain partition(s)")
    sqlite = runner.invoke(
        app, ["audit", "partitions", "--set", "2", "--db", str(tmp_path / "one.db")]
    )
    assert sqlite.exit_code == 2
    assert "E_CONFIG" in sqlite.output
    assert "PostgreSQL" in sqlite.output
    assert not (tmp_path / "one.db").exists()  # refused before anything was opened
