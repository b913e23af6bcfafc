"""The live submit path on PostgreSQL, with one and with two engine processes.

Each process runs an engine with the paper broker and submits market orders, each its
own units of work (accept; receipt + fill + position), with distinct keys. Prints one
JSON line: orders/s overall for 1 and for 2 processes, and per-order p50/p99.

    python bench/bench_postgres.py --orders 3000
    python bench/bench_postgres.py --fenced   # as ``serve`` runs: ownership, the fenced send
    ORDERGATE_BENCH_PG_URL=postgresql://postgres@127.0.0.1:5432/test (the default)

What limits it (see the note in the output): every order is 2 transactions with a
commit each, so a WAL flush (fsync) each; every event-writing transaction holds the
event-log lock (the audit hash chain, which also orders the outbox) from writing its
events until its commit, so commits of all processes go one at a time through that
lock; and the Python engine itself (~0.2 ms/order) shares 2 cores with the server.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


class _OwnVenue:
    """This process's paper book behind a plain adapter: each bench process trades at its
    own venue (distinct keys), so the one-paper-broker-per-database rule does not apply."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def child(url: str, orders: int, tag: str, warmup: int, sync: bool, fenced: bool) -> None:
    from datetime import timedelta

    from ordergate.brokers.paper import PaperBroker
    from ordergate.engine.engine import ExecutionEngine
    from ordergate.engine.ownership import Ownership
    from ordergate.store.leases import leases_for
    from ordergate.store.postgres import PostgresStore

    store = PostgresStore(url, min_size=1, max_size=2, synchronous_commit=sync)
    paper = PaperBroker()
    engine = ExecutionEngine(store, _OwnVenue(paper) if fenced else paper)  # type: ignore[arg-type]
    if fenced:  # the lease claim and in-flight mark before each send, the heartbeat
        Ownership(engine, leases_for(store, tag), timedelta(seconds=10)).start()
    engine.mark("AAPL", "150.00", bid="149.99", ask="150.01", volume="1000000")
    latencies: list[float] = []
    started = 0.0
    for i in range(warmup + orders):
        if i == warmup:
            started = time.time()
        t0 = time.perf_counter()
        report = engine.submit(
            {
                "symbol": "AAPL",
                "side": "buy" if i % 2 else "sell",
                "qty": "1",
                "idempotency_key": f"{tag}-{i}",
            }
        )
        latencies.append(time.perf_counter() - t0)
        if report.status.value != "FILLED":
            raise SystemExit(f"order {i} ended {report.status}")
    ended = time.time()
    store.close()
    measured = sorted(latencies[warmup:])
    print(
        json.dumps(
            {
                "start": started,
                "end": ended,
                "orders": orders,
                "p50_ms": statistics.median(measured) * 1000,
                "p99_ms": measured[int(len(measured) * 0.99) - 1] * 1000,
            }
        )
    )


def run(
    base_url: str, processes: int, orders: int, warmup: int, sync: bool, fenced: bool = False
) -> dict[str, object]:
    import psycopg

    from ordergate.store.postgres import PostgresStore

    schema = f"og_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{base_url}{'&' if '?' in base_url else '?'}options={quote(f'-csearch_path={schema}')}"
    try:
        store = PostgresStore(url)
        store.migrate()
        store.close()
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    url,
                    "--orders",
                    str(orders),
                    "--tag",
                    f"p{n}",
                    "--warmup",
                    str(warmup),
                    "--sync",
                    "on" if sync else "off",
                    *(["--fenced"] if fenced else []),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(processes)
        ]
        results = []
        for proc in procs:
            out, _ = proc.communicate()
            if proc.returncode != 0:
                raise SystemExit(f"a bench process failed ({proc.returncode})")
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
    total = sum(r["orders"] for r in results)
    return {
        "orders_per_s": round(total / elapsed, 1),
        "orders": total,
        "p50_ms": round(statistics.median(r["p50_ms"] for r in results), 3),
        "p99_ms": round(max(r["p99_ms"] for r in results), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=2000, help="per process")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="p0", help=argparse.SUPPRESS)
    parser.add_argument(
        "--sync", choices=["on", "off"], default="on", help="synchronous_commit of the store"
    )
    parser.add_argument(
        "--fenced", action="store_true", help="with ownership and the fenced send, as serve runs"
    )
    args = parser.parse_args()
    if args.child:
        child(args.child, args.orders, args.tag, args.warmup, args.sync == "on", args.fenced)
        return
    url = os.environ.get("ORDERGATE_BENCH_PG_URL", DEFAULT_URL)
    sync = args.sync == "on"
    one = run(url, 1, args.orders, args.warmup, sync, args.fenced)
    two = run(url, 2, args.orders, args.warmup, sync, args.fenced)
    print(
        json.dumps(
            {
                "bench": "submit_path_postgres",
                "cores": os.cpu_count(),
                "synchronous_commit": args.sync,
                "fenced": args.fenced,
                "one_process": one,
                "two_processes": two,
                "note": (
                    "2 commits (2 WAL fsyncs) per order; event-writing commits serialise on the "
                    "event-log lock (audit hash chain + outbox order); engine, driver and server "
                    "share the cores"
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
