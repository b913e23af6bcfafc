"""The audit chain on PostgreSQL is verified by the same walk as SQLite's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from ordergate.brokers.paper import PaperBroker
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.audit import PostgresChain, verify_chain
from tests.obs.chainkit import fill_orders
from tests.store.pg import fresh_schema, server_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    from ordergate.store.postgres import PostgresStore

    with fresh_schema(server_url()) as url:
        store = PostgresStore(url, min_size=1, max_size=2)
        store.migrate()
        fill_orders(ExecutionEngine(store, PaperBroker()), "pg", 3)
        store.close()
        yield url


@pytest.fixture
def conn(pg_url: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as c:
        yield c


def _rows(conn: Any) -> list[tuple[int, str]]:
    return [
        (int(s), str(o))
        for s, o in conn.execute("SELECT seq, order_id FROM order_events ORDER BY seq")
    ]


def test_a_clean_chain_verifies(conn: Any) -> None:
    result = verify_chain(PostgresChain(conn))
    assert result.ok, result.problems
    assert result.checked == len(_rows(conn)) == 3 * 4


def test_an_edited_and_a_removed_event_are_named(conn: Any) -> None:
    rows = _rows(conn)
    edited, edited_order = rows[2]
    removed = rows[6][0]
    after_removed, after_order = rows[7]
    conn.execute("ALTER TABLE order_events DISABLE TRIGGER order_events_no_update")
    conn.execute(
        'UPDATE order_events SET payload = replace(payload, \'"qty":"1"\', \'"qty":"9"\') '
        "WHERE seq = %s",
        (edited,),
    )
    conn.execute("DELETE FROM order_events WHERE seq = %s", (removed,))
    problems = verify_chain(PostgresChain(conn)).problems
    assert [(p.kind, p.seq, p.order_id) for p in problems] == [
        ("edited", edited, edited_order),
        ("removed", after_removed, after_order),
    ]


def test_cli_verifies_a_postgres_database(pg_url: str, conn: Any) -> None:
    from ordergate.service.__main__ import app

    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--db", pg_url, "--json"])
    assert ok.exit_code == 0, ok.output
    head = json.loads(ok.output)["head_hash"]
    last = _rows(conn)[-1][0]
    conn.execute("DELETE FROM order_events WHERE seq = %s", (last,))
    cut = runner.invoke(app, ["audit", "verify", "--db", pg_url, "--head", head, "--json"])
    assert cut.exit_code == 1
    assert [p["kind"] for p in json.loads(cut.output)["problems"]] == ["truncated"]


def test_purge_on_postgres_keeps_the_chain_verifiable() -> None:
    """Retention runs on PostgreSQL through the same code: old final orders go, the
    cut is anchored, open orders stay and the chain goes on from the anchor."""
    import psycopg

    from ordergate.clock import SequentialIds, SimulatedClock
    from ordergate.obs.retention import RetentionPolicy, purge
    from ordergate.store.postgres import PostgresStore
    from tests.obs.chainkit import resting_order

    with fresh_schema(server_url()) as url:
        store = PostgresStore(url, min_size=1, max_size=2)
        store.migrate()
        clock = SimulatedClock()
        engine = ExecutionEngine(store, PaperBroker(clock=clock), clock=clock, ids=SequentialIds())
        old = fill_orders(engine, "old", 3)
        resting = resting_order(engine, "rest")
        clock.advance(timedelta(days=400))
        new = fill_orders(engine, "new", 2)
        with psycopg.connect(url, autocommit=True) as conn:
            chain = PostgresChain(conn)
            dry = purge(chain, RetentionPolicy(), clock.now(), dry_run=True)
            assert dry.orders == 3
            assert all(store.get_order(o) is not None for o in old)
            result = purge(chain, RetentionPolicy(), clock.now())
            assert (result.orders, result.fills, result.intents) == (3, 3, 3)
            assert result.anchor_seq is not None
            assert all(store.get_order(o) is None for o in old)
            assert all(store.get_order(o) is not None for o in [*new, resting])
            check = verify_chain(chain)
            assert check.ok, check.problems
            assert check.anchor_seq == result.anchor_seq
            fill_orders(engine, "later", 2)
            assert verify_chain(chain).ok
        store.close()
