"""Two engine processes on one PostgreSQL database, one of them SIGKILLed at every
step of the submit path, with equal clocks and with its clock 15 s off: the
non-deduping exchange sees no client order id twice, nothing is lost, and no placed
order is answered "nothing was sent" (issue 24; ``pg_sweep.py`` says how).

The reduced run (one trial per step and clock) is in CI; ``ORDERGATE_PG_SWEEP_TRIALS``
sets trials per step and clock for the long variant.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.crash.sweep import exchange_process
from tests.scale.pg_sweep import run_sweep

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
TRIALS = int(os.environ.get("ORDERGATE_PG_SWEEP_TRIALS", "1"))
#: the event chain's partitions (each trial's account lands in one of them)
PARTITIONS = int(os.environ.get("ORDERGATE_PG_SWEEP_PARTITIONS", "3"))


@pytest.mark.parametrize("offset_s", [0.0, -15.0], ids=["equal-clocks", "clock-15s-behind"])
def test_two_processes_one_killed_no_duplicate_no_loss(
    pg_url: str, tmp_path: Path, offset_s: float
) -> None:
    from ordergate.store.postgres import PostgresStore

    store = PostgresStore(pg_url)
    store.set_chain_partitions(PARTITIONS)
    store.close()
    with exchange_process(tmp_path) as url:
        result = run_sweep(pg_url, url, TRIALS, (offset_s,))
    assert result["duplicates"] == 0, result
    assert result["lost"] == 0, result
    assert result["nothing_sent"] == 0, result
    assert result["position_mismatches"] == 0, result
    assert result["crashed"] > 0, result
    import psycopg

    from ordergate.obs.audit import PostgresChain, verify_chain

    with psycopg.connect(pg_url, autocommit=True) as conn:
        chain = verify_chain(PostgresChain(conn), derived=False)  # SIGKILLs mid-commit
    assert chain.ok, chain.problems[:5]
    assert len(chain.partitions) > 1 or PARTITIONS == 1, chain.partitions
