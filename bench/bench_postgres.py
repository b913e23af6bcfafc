"""The live submit path on PostgreSQL, with one and with two engine processes.

Each process runs an engine with the paper broker and submits market orders from
``--threads`` submitters (each its own account, so no two share a position lock), each
order its own units of work (accept; receipt + fill + position), with distinct keys.
Prints one JSON line: orders/s overall for 1 and for 2 processes, per-order p50/p99,
round trips and statements per order (counted by the store), how often a process's
belief about the chain's head was refused, and — measured in the same run, on the same
server — a raw PostgreSQL commit (a one-row insert and COMMIT, sequential and from
``--threads`` connections at once), which is the floor every figure stands on.

    python bench/bench_postgres.py --orders 1500
    python bench/bench_postgres.py --threads 8   # concurrent submitters in each process
    python bench/bench_postgres.py --fenced   # as ``serve`` runs: ownership, the fenced send
    python bench/bench_postgres.py --partitions 2   # the chain partitioned by account: each
                                                    # submitter's account in its own partition
    ORDERGATE_BENCH_PG_URL=postgresql://postgres@127.0.0.1:5432/test (the default)

What limits it (see the note in the output): every order is 2 transactions with a
commit each, so a WAL flush (fsync) each; every event-writing transaction holds the
event-log lock (the audit hash chain, which also orders the outbox) from its chain check
to its commit — the last round trip, the flush included — so the commits of all threads
and processes go one at a time through that lock; and the Python engine itself
(~0.2 ms/order) shares 2 cores with the server.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
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


def accounts(tag: str, process: int, threads: int, partitions: int) -> list[str]:
    """Each submitter's account: ``<tag>t<t>`` on one chain; with partitions, the first
    name of that form whose partition is the submitter's own (process-major, round robin),
    so that submitters share a partition only when there are more of them than partitions."""
    if partitions <= 1:
        return [f"{tag}t{t}" for t in range(threads)]
    from ordergate.store.chain import partition_of

    names = []
    for t in range(threads):
        target = (process * threads + t) % partitions
        names.append(
            next(
                f"{tag}t{t}-{k}"
                for k in range(100_000)
                if partition_of(f"{tag}t{t}-{k}", partitions) == target
            )
        )
    return names


def child(
    url: str,
    orders: int,
    tag: str,
    warmup: int,
    sync: bool,
    fenced: bool,
    threads: int,
    partitions: int = 1,
) -> None:
    from datetime import timedelta

    from ordergate.brokers.paper import PaperBroker
    from ordergate.engine.engine import ExecutionEngine
    from ordergate.engine.ownership import Ownership
    from ordergate.store.leases import leases_for
    from ordergate.store.postgres import PostgresStore

    store = PostgresStore(url, min_size=threads, max_size=threads + 1, synchronous_commit=sync)
    paper = PaperBroker()
    engine = ExecutionEngine(store, _OwnVenue(paper) if fenced else paper)  # type: ignore[arg-type]
    if fenced:  # the lease claim and in-flight mark before each send, the heartbeat
        Ownership(engine, leases_for(store, tag), timedelta(seconds=10)).start()
    engine.mark("AAPL", "150.00", bid="149.99", ask="150.01", volume="1000000")
    names = accounts(tag, int(tag.lstrip("p") or 0), threads, partitions)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: list[str] = []
    warm = threading.Barrier(threads + 1)
    go = threading.Barrier(threads + 1)

    def submit(t: int, i: int) -> None:
        report = engine.submit(
            {
                "symbol": "AAPL",
                "side": "buy" if i % 2 else "sell",
                "qty": "1",
                "account_id": names[t],
                "idempotency_key": f"{tag}-{t}-{i}",
            }
        )
        if report.status.value != "FILLED":
            failures.append(f"order {t}/{i} ended {report.status}")

    def work(t: int) -> None:
        for i in range(warmup // threads):
            submit(t, i)
        warm.wait()
        go.wait()
        for i in range(orders // threads):
            t0 = time.perf_counter()
            submit(t, warmup + i)
            latencies[t].append(time.perf_counter() - t0)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    warm.wait()
    round_trips, statements = store.round_trips, store.statements
    chain_commits, chain_seconds = store.chain_commits, store.chain_seconds
    # (``chain_head`` alone: a tree from before partitions, run as the reference)
    heads = getattr(store, "chain_heads", None) or store.chain_head
    refused = heads.refused
    server_before = server_cpu(url)
    cpu_before = time.process_time()
    started = time.time()
    go.wait()
    for worker in workers:
        worker.join()
    ended = time.time()
    cpu = time.process_time() - cpu_before
    server_after = server_cpu(url)
    if failures:
        raise SystemExit(failures[0])
    done = (orders // threads) * threads
    store.close()
    measured = sorted(x for lat in latencies for x in lat)
    print(
        json.dumps(
            {
                "start": started,
                "end": ended,
                "orders": done,
                "p50_ms": statistics.median(measured) * 1000,
                "p99_ms": measured[int(len(measured) * 0.99) - 1] * 1000,
                "round_trips": store.round_trips - round_trips,
                "statements": store.statements - statements,
                "head_refused": heads.refused - refused,
                "chain_commits": store.chain_commits - chain_commits,
                "chain_seconds": store.chain_seconds - chain_seconds,
                "cpu_s": cpu,
                "server_cpu_s": (
                    None
                    if server_before is None or server_after is None
                    else server_after - server_before
                ),
            }
        )
    )


def server_cpu(url: str) -> float | None:
    """CPU seconds (user + system) used so far by the server's backends of this bench's
    sessions (``application_name`` in the URL), read from ``/proc``: only when the server
    runs on this host (None otherwise). A backend that ended is not counted."""
    import psycopg

    name = url.rsplit("application_name=", 1)[-1].split("&", 1)[0]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            pids = [
                r[0]
                for r in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                    "AND pid <> pg_backend_pid()",
                    (name,),
                )
            ]
        ticks = 0
        for pid in pids:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    except OSError:
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def raw_commit(url: str, sync: bool, threads: int, commits: int = 1000) -> dict[str, object]:
    """A one-row INSERT and COMMIT on the bench's server: sequential (p50) and from
    ``threads`` connections at once (commits/s: the server's own group commit)."""
    import psycopg

    table = f"og_bench_raw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (n BIGINT, v TEXT)")
    try:

        def loop(n: int, out: list[float]) -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                if not sync:
                    conn.execute("SET synchronous_commit = off")
                for i in range(n):
                    t0 = time.perf_counter()
                    with conn.transaction():
                        conn.execute(f"INSERT INTO {table} VALUES (%s, 'x')", (i,))
                    out.append(time.perf_counter() - t0)

        one: list[float] = []
        loop(commits, one)
        many: list[list[float]] = [[] for _ in range(threads)]
        workers = [
            threading.Thread(target=loop, args=(commits // threads, many[t]))
            for t in range(threads)
        ]
        t0 = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - t0
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE {table}")
    return {
        "p50_ms": round(statistics.median(one) * 1000, 3),
        "commits_per_s_sequential": round(len(one) / sum(one), 1),
        f"commits_per_s_{threads}_connections": round(sum(len(m) for m in many) / elapsed, 1),
    }


def run(
    base_url: str,
    processes: int,
    orders: int,
    warmup: int,
    sync: bool,
    fenced: bool = False,
    threads: int = 1,
    partitions: int = 1,
) -> dict[str, object]:
    import psycopg

    from ordergate.store.postgres import PostgresStore

    schema = f"og_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = (
        f"{base_url}{'&' if '?' in base_url else '?'}options={quote(f'-csearch_path={schema}')}"
        f"&application_name={schema}"
    )
    try:
        store = PostgresStore(url)
        store.migrate()
        if partitions > 1:
            store.set_chain_partitions(partitions)
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
                    "--threads",
                    str(threads),
                    *(["--partitions", str(partitions)] if partitions > 1 else []),
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
        "round_trips_per_order": round(sum(r["round_trips"] for r in results) / total, 2),
        "statements_per_order": round(sum(r["statements"] for r in results) / total, 2),
        "head_refused_per_order": round(sum(r["head_refused"] for r in results) / total, 3),
        # CPU an order: the engine process's own (Python, driver) and its server backends'
        "cpu_ms_per_order": round(1000 * sum(r["cpu_s"] for r in results) / total, 3),
        "server_cpu_ms_per_order": (
            None
            if any(r["server_cpu_s"] is None for r in results)
            else round(1000 * sum(r["server_cpu_s"] for r in results) / total, 3)
        ),
        # the event log's lock is held for at most the commit round trip (flush included)
        "chain_commit_ms": round(
            1000
            * sum(r["chain_seconds"] for r in results)
            / max(1, sum(r["chain_commits"] for r in results)),
            3,
        ),
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
    parser.add_argument("--threads", type=int, default=1, help="submitters per process")
    parser.add_argument(
        "--partitions",
        type=int,
        default=1,
        help="chain partitions (each submitter's account in its own, round robin)",
    )
    parser.add_argument(
        "--only", choices=["one", "two"], default=None, help="run one process or two, not both"
    )
    args = parser.parse_args()
    if args.child:
        child(
            args.child,
            args.orders,
            args.tag,
            args.warmup,
            args.sync == "on",
            args.fenced,
            args.threads,
            args.partitions,
        )
        return
    url = os.environ.get("ORDERGATE_BENCH_PG_URL", DEFAULT_URL)
    sync = args.sync == "on"
    raw = raw_commit(url, sync, max(args.threads, 2))
    shape = (args.orders, args.warmup, sync, args.fenced, args.threads, args.partitions)
    one = None if args.only == "two" else run(url, 1, *shape)
    two = None if args.only == "one" else run(url, 2, *shape)
    print(
        json.dumps(
            {
                "bench": "submit_path_postgres",
                "cores": os.cpu_count(),
                "load_avg": [round(x, 2) for x in os.getloadavg()],
                "synchronous_commit": args.sync,
                "fenced": args.fenced,
                "threads_per_process": args.threads,
                "partitions": args.partitions,
                "raw_commit": raw,
                "one_process": one,
                "two_processes": two,
                "note": (
                    "2 commits (2 WAL fsyncs) per order; event-writing commits serialise on the "
                    "event-log lock (audit hash chain + outbox order), held for the last round "
                    "trip and its flush; engine, driver and server share the cores"
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
