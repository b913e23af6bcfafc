"""The partitioned event chain on PostgreSQL (issue 24): writers of accounts in different
partitions never refuse each other's heads, every partition verifies on its own, and a
tampered row in one partition is named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.audit import PostgresChain, VerifyResult, verify_chain
from ordergate.store.chain import SPAN, partition_of
from ordergate.store.checkpoint import AuditTrail, Checkpoint
from tests.obs.chainkit import KEY

pytestmark = [pytest.mark.postgres]
WORKER = str(Path(__file__).with_name("partition_worker.py"))
ROOT = str(Path(__file__).resolve().parents[2])
PARTITIONS = 3


def account_in(partition: int, partitions: int = PARTITIONS) -> str:
    """An account name whose events go to ``partition``."""
    return next(
        name
        for name in (f"acct-{n}" for n in range(1000))
        if partition_of(name, partitions) == partition
    )


def _store(url: str, checkpoint: Path, partitions: int = PARTITIONS) -> Any:
    from ordergate.store.postgres import PostgresStore

    store = PostgresStore(
        url,
        min_size=1,
        max_size=2,
        audit=AuditTrail(KEY, Checkpoint(checkpoint, KEY, "partitions")),
    )
    store.migrate()  # seals the chain with the key
    store.set_chain_partitions(partitions)
    return store


def _submit(engine: ExecutionEngine, account: str, key: str) -> None:
    report = engine.submit(
        {"symbol": "AAPL", "side": "buy", "qty": "1", "account_id": account, "idempotency_key": key}
    )
    assert report.status.value == "FILLED", report


def _verify(url: str, checkpoint: Path, *, derived: bool = True) -> VerifyResult:
    import psycopg

    state = Checkpoint(checkpoint, KEY, "partitions").read()
    with psycopg.connect(url, autocommit=True) as conn:
        return verify_chain(PostgresChain(conn), key=KEY, checkpoint=state, derived=derived)


@pytest.fixture
def head(tmp_path: Path) -> Path:
    return tmp_path / "audit" / "pg.head"


@pytest.fixture
def tamper(pg_url: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute("ALTER TABLE order_events DISABLE TRIGGER order_events_no_update")
        yield c


def test_two_stores_on_accounts_of_two_partitions_never_refuse(pg_url: str, head: Path) -> None:
    """Two stores (two processes' worth of beliefs) alternate orders on accounts of two
    partitions: each believes its own partition's head, nobody else moves it. On one
    chain the same alternation is refused every time (``test_pg_pipeline``)."""
    one, two = _store(pg_url, head), _store(pg_url, head)
    engines = [ExecutionEngine(s, PaperBroker()) for s in (one, two)]
    for engine in engines:
        engine.mark("AAPL", "100")
    accounts = [account_in(1), account_in(2)]
    for n in range(12):
        _submit(engines[n % 2], accounts[n % 2], f"k-{n}")
    refused = one.chain_heads.refused + two.chain_heads.refused
    one.close()
    two.close()
    assert refused == 0
    result = _verify(pg_url, head)
    assert result.ok, result.problems
    assert sorted(result.partitions) == [0, 1, 2]
    for partition in (1, 2):
        walked = result.partitions[partition]
        assert walked["checked"] == 6 * 4  # 4 events an order, 6 orders each
        assert walked["head_seq"] == partition * SPAN + 6 * 4
        assert walked["checkpoint_seq"] == walked["head_seq"]  # each its own checkpoint
    assert head.with_name("pg.head.p1").exists()
    assert head.with_name("pg.head.p2").exists()


def test_two_processes_on_two_accounts_write_concurrently(pg_url: str, head: Path) -> None:
    _store(pg_url, head).close()  # spreads accounts over PARTITIONS from now on
    count = 120
    start_at = str(time.time() + 3)
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, pg_url, account_in(p), str(count), str(head), start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([ROOT + "/src", ROOT])},
        )
        for p in (1, 2)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
    lines = [json.loads(out) for out, _ in outputs]
    assert [line["filled"] for line in lines] == [count, count]
    assert [sum(line["refused"].values()) for line in lines] == [0, 0]
    result = _verify(pg_url, head)
    assert result.ok, result.problems
    assert {p: result.partitions[p]["checked"] for p in (1, 2)} == {1: count * 4, 2: count * 4}


def test_a_tampered_row_in_one_partition_is_named(pg_url: str, head: Path, tamper: Any) -> None:
    store = _store(pg_url, head)
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "100")
    for n in range(3):
        for p in (1, 2):
            _submit(engine, account_in(p), f"k-{p}-{n}")
    store.close()
    clean = _verify(pg_url, head)
    assert clean.ok, clean.problems
    seq, order_id = tamper.execute(
        "SELECT seq, order_id FROM order_events WHERE seq > %s AND seq < %s "
        'AND payload LIKE \'%%"qty":"1"%%\' ORDER BY seq LIMIT 1',
        (2 * SPAN, 3 * SPAN),
    ).fetchone()
    tamper.execute(
        'UPDATE order_events SET payload = replace(payload, \'"qty":"1"\', \'"qty":"7"\') '
        "WHERE seq = %s",
        (seq,),
    )
    result = _verify(pg_url, head)
    edited = [p for p in result.problems if p.kind == "edited"]
    assert [(p.seq, p.order_id) for p in edited] == [(seq, order_id)]
    assert result.partitions[1]["checked"] == 3 * 4  # the other partition walked whole


def test_a_partition_cut_off_whole_is_named_by_its_checkpoint(
    pg_url: str, head: Path, tamper: Any
) -> None:
    store = _store(pg_url, head)
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "100")
    for p in (1, 2):
        _submit(engine, account_in(p), f"k-{p}")
    store.close()
    tamper.execute("DELETE FROM order_events WHERE seq > %s", (2 * SPAN,))
    result = _verify(pg_url, head)
    kinds = {(p.kind, p.seq // SPAN) for p in result.problems if p.kind == "truncated"}
    assert kinds == {("truncated", 2)}


def test_a_chain_from_before_partitions_still_verifies(pg_url: str, head: Path) -> None:
    """Rows written with one partition stay partition 0; accounts spread over partitions
    afterwards start chains of their own, and the whole verifies."""
    one = _store(pg_url, head, partitions=1)
    engine = ExecutionEngine(one, PaperBroker())
    engine.mark("AAPL", "100")
    for p in (1, 2):
        _submit(engine, account_in(p), f"before-{p}")
    one.close()
    three = _store(pg_url, head)
    engine = ExecutionEngine(three, PaperBroker())
    engine.mark("AAPL", "100")
    for p in (1, 2):
        _submit(engine, account_in(p), f"after-{p}")
    three.close()
    result = _verify(pg_url, head)
    assert result.ok, result.problems
    assert result.partitions[0]["checked"] == 2 * 4  # the orders before
    assert result.partitions[1]["checked"] == result.partitions[2]["checked"] == 4


def test_a_purge_on_a_partitioned_chain_keeps_every_partition_verifiable(
    pg_url: str, head: Path
) -> None:
    """Retention on three partitions: each partition's old final orders go and its stubs
    fold into its own anchor; the positions the purge records stand at each partition's
    head, so the fills after it are folded on once (a double count is a position_row)."""
    from datetime import timedelta

    import psycopg

    from ordergate.clock import SequentialIds, SimulatedClock
    from ordergate.obs.retention import RetentionPolicy, purge

    store = _store(pg_url, head)
    clock = SimulatedClock()
    engine = ExecutionEngine(store, PaperBroker(clock=clock), clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "100")
    for p in (0, 1, 2):
        for n in range(2):
            _submit(engine, account_in(p), f"old-{p}-{n}")
    clock.advance(timedelta(days=400))
    engine.mark("AAPL", "100")
    for p in (0, 1, 2):
        _submit(engine, account_in(p), f"new-{p}")
    checkpoint = Checkpoint(head, KEY, "partitions")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        chain = PostgresChain(conn)
        result = purge(chain, RetentionPolicy(), clock.now(), key=KEY, checkpoint=checkpoint)
        assert result.orders == 6
        assert sorted(result.partition_anchors) == [1, 2]
        assert all(s // SPAN == p for p, s in result.partition_anchors.items())
        check = verify_chain(chain, key=KEY, checkpoint=checkpoint.read())
        assert check.ok, check.problems
        assert [check.partitions[p]["anchor_seq"] for p in (1, 2)] == [
            result.partition_anchors[1],
            result.partition_anchors[2],
        ]
        for p in (0, 1, 2):
            _submit(engine, account_in(p), f"later-{p}")
        later = verify_chain(chain, key=KEY, checkpoint=checkpoint.read())
        assert later.ok, later.problems
    store.close()


def test_the_partition_count_stays_once_partitions_hold_events(pg_url: str, head: Path) -> None:
    from ordergate.domain.errors import ConfigError

    store = _store(pg_url, head)
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "100")
    _submit(engine, account_in(1), "k")
    store.set_chain_partitions(PARTITIONS)  # the same count: nothing changes
    with pytest.raises(ConfigError, match="hold events"):
        store.set_chain_partitions(5)
    assert store.chain_partitions() == PARTITIONS
    store.close()


def test_a_unit_with_events_of_two_partitions_chains_both(pg_url: str, head: Path) -> None:
    """One unit of work writing an event of an order it did not read (its account looked
    up) and one with no order: each goes to its partition, both locks taken in order."""
    from datetime import UTC, datetime

    from ordergate.store.base import EventRecord

    store = _store(pg_url, head)
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "100")
    account = account_in(2)
    order_id = engine.submit(
        {"symbol": "AAPL", "side": "buy", "qty": "1", "account_id": account, "idempotency_key": "k"}
    ).order_id
    now = datetime.now(UTC)
    for round_ in range(2):  # believed after the first, read the first time
        with store.transaction() as tx:
            tx.record_events(
                [
                    EventRecord(order_id, "ops.note", None, None, f'{{"n":{round_}}}', now),
                    EventRecord(None, "ops.note", None, None, f'{{"n":{round_}}}', now),
                ]
            )
    store.close()
    result = _verify(pg_url, head, derived=False)  # the notes are no order's lifecycle
    assert result.ok, result.problems
    assert result.partitions[2]["head_seq"] == 2 * SPAN + 4 + 2
    assert result.partitions[0]["head_seq"] == 2


def test_two_stores_on_one_partition_refuse_and_stay_verifiable(pg_url: str, head: Path) -> None:
    """Two processes' beliefs about one partition (above 0): each refuses the other's
    head, reads it under the partition's lock and hashes again."""
    one, two = _store(pg_url, head), _store(pg_url, head)
    engines = [ExecutionEngine(s, PaperBroker()) for s in (one, two)]
    for engine in engines:
        engine.mark("AAPL", "100")
    for n in range(10):
        _submit(engines[n % 2], account_in(1), f"k-{n}")
    refused = [s.chain_heads.of(1).refused for s in (one, two)]
    one.close()
    two.close()
    assert sum(refused) > 0
    result = _verify(pg_url, head)
    assert result.ok, result.problems
    assert result.partitions[1]["checked"] == 10 * 4
