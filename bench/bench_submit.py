"""Live submit path on a SQLite file: intent -> persisted -> paper submit -> fill -> position.

Each order is its own durable units of work (accept, then receipt + fill + position).
Prints one JSON line: orders/s, p50/p99/p99.9/max engine latency in milliseconds, and
the full garbage collections made while the orders went in (``--orders 100000`` for
the tail).

The engine is built by the one composition root (``build_runtime``) on the default
settings, with these changes: the store file in a temporary directory (``--memory``:
the in-memory store as its port), ``sqlite_synchronous`` as asked, the throttle and
the broker rate limit raised out of the way (``exec_max_orders_per_min`` and
``exec_requests_per_second`` = 1e9), the paper broker's book kept in memory only (its
port; ``serve`` keeps it in a file beside the database), the audit key and head
checkpoint in the temporary directory (``audit_dir``; the chain is keyed, as ``serve``
runs it), and ``risk_enabled`` off unless ``--gates`` (off, only the operator's gates
run: expiry, kill switches, trading state). With ``--gates`` every gate runs, with the
trade-count breakers and the duplicate guard off and limits the benchmark's orders stay
inside (see ``BENCH_RISK``).

    python bench/bench_submit.py --orders 20000 --synchronous FULL
    python bench/bench_submit.py --synchronous NORMAL --gates   # every pre-trade gate on
    python bench/bench_submit.py --memory [--gates]             # the engine without disk
    python bench/bench_submit.py --synchronous FULL --basket 10  # engine.submit_many(10)

With ``--basket N`` the orders go N at a time through ``engine.submit_many``: two
commits per basket instead of two per order; latency is then per basket.

With ``--clients N`` N threads submit at once through ``engine.submit`` (each order
durable before it is sent; the store commits their units of work together, see
``store/group_commit.py``); latency is per order, throughput over all of them.

Beside the engine's figures the line carries ``raw_commit``: one-row SQLite commits
in the same directory and ``synchronous`` mode, timed in the same run (commits/s and
µs per commit) — the disk's own price, so the engine's figure can be read against it.

    python bench/bench_submit.py --synchronous FULL --clients 8
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ordergate.bootstrap import build_paper_broker, build_runtime
from ordergate.clock import SystemClock
from ordergate.config import load_settings
from ordergate.store.memory import MemoryStore

#: Every gate on, with limits the benchmark's orders stay inside.
BENCH_RISK: dict[str, Any] = {
    # every round trip pays the spread and two fees: the losing streak would stop the
    # run at once, the default daily loss (5,000) after ~4,600 orders, the default
    # drawdown (2 % of the equity's peak) after ~18,600 (``--orders 100000`` for the
    # tail); kept armed, out of reach
    "breakers": {"max_trades_per_day": None, "max_trades_per_strategy_per_day": None,
                 "max_loss_streak": None, "max_daily_loss": "1000000000",
                 "max_daily_drawdown_pct": "0.99"},
    "limits": {"default": {"max_qty": "1000", "max_notional": "1000000",
                           "price_band_bps": "500", "tick_size": "0.01"}},
    "duplicate_window_ms": None,
}  # fmt: skip


def raw_commit(directory: Path, synchronous: str, commits: int = 2000) -> dict[str, float]:
    """One-row commits on a WAL file in ``directory``: the disk's price per commit."""
    conn = sqlite3.connect(directory / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    started = time.perf_counter()
    for i in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", (f"row-{i}",))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return {
        "commits_per_s": round(commits / elapsed, 1),
        "us_per_commit": round(elapsed / commits * 1e6, 1),
    }


def _intent(i: int) -> dict[str, str]:
    return {"symbol": "AAPL", "side": "buy" if i % 2 == 0 else "sell", "qty": "1",
            "idempotency_key": f"bench-{i}"}  # fmt: skip


def _concurrent(engine: Any, first: int, orders: int, clients: int) -> tuple[float, list[float]]:
    """``orders`` submits from ``clients`` threads at once: (seconds, latencies)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def submitter(n: int) -> None:
        mine = latencies[n]
        barrier.wait()
        for i in range(first + n, first + orders, clients):
            t0 = time.perf_counter()
            report = engine.submit(_intent(i))
            mine.append(time.perf_counter() - t0)
            if report.status.value != "FILLED":
                failures.append(f"order {i} ended {report.status}")

    threads = [threading.Thread(target=submitter, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(failures[0])
    return elapsed, [x for mine in latencies for x in mine]


class _FullCollections:
    """Counts the garbage collector's full collections from its creation to ``stop``."""

    def __init__(self) -> None:
        self.count = 0
        gc.callbacks.append(self._seen)

    def _seen(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            self.count += 1

    def stop(self) -> int:
        gc.callbacks.remove(self._seen)
        return self.count


def run(
    orders: int,
    synchronous: str,
    warmup: int = 500,
    *,
    gates: bool = False,
    memory: bool = False,
    basket: int = 1,
    clients: int = 1,
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        raw = None if memory else raw_commit(Path(tmp), synchronous)
        settings = load_settings(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            sqlite_synchronous=synchronous,
            exec_max_orders_per_min=1_000_000_000,
            exec_requests_per_second=1_000_000_000,
            risk_enabled=gates,
            risk=BENCH_RISK if gates else {},
            audit_dir=str(Path(tmp) / "audit"),
        )
        store = MemoryStore() if memory else None
        broker = build_paper_broker(settings, SystemClock(), persistent=False)
        engine = build_runtime(settings, store=store, broker=broker).engine
        engine.mark("AAPL", "150.00", bid="149.99", ask="150.01", volume="1000000")
        latencies: list[float] = []
        gc.collect()
        full = _FullCollections()  # from here to the figures: warm-up and measured orders
        started = 0.0
        size = max(1, basket)
        warmup -= warmup % size
        if clients > 1:
            _concurrent(engine, 0, warmup, clients)
            elapsed, latencies = _concurrent(engine, warmup, orders, clients)
            measured = sorted(latencies)
        else:
            for first in range(0, warmup + orders, size):
                if first == warmup:
                    started = time.perf_counter()
                intents = [_intent(i) for i in range(first, first + size)]
                t0 = time.perf_counter()
                reports = engine.submit_many(intents) if basket > 1 else [engine.submit(intents[0])]
                latencies.append(time.perf_counter() - t0)
                for offset, report in enumerate(reports):
                    if report.status.value != "FILLED":
                        raise SystemExit(f"order {first + offset} ended {report.status}")
            elapsed = time.perf_counter() - started
            measured = sorted(latencies[warmup // size :])
        position = engine.positions()[0]
        group = getattr(engine.store, "_group", None)
        per_commit = None if not group or not group.commits else group.units / group.commits
        engine.store.close()
    return {
        "bench": "submit_path_memory" if memory else "submit_path_sqlite",
        "synchronous": None if memory else synchronous,
        "gates": gates,
        "basket": basket,
        "clients": clients,
        "orders": orders,
        "orders_per_s": round(orders / elapsed, 1),
        "p50_ms": round(statistics.median(measured) * 1000, 3),
        "p99_ms": round(measured[int(len(measured) * 0.99) - 1] * 1000, 3),
        "p999_ms": round(measured[int(len(measured) * 0.999) - 1] * 1000, 3),
        "max_ms": round(measured[-1] * 1000, 3),
        # the garbage collector's full (generation 2) collections while orders went in
        "full_collections": full.stop(),
        "final_position_qty": str(position.qty),
        "units_per_commit": None if per_commit is None else round(per_commit, 2),
        "raw_commit": raw,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--gates", action="store_true", help="every pre-trade gate on")
    parser.add_argument(
        "--memory", action="store_true", help="the in-memory store: the engine's own cost"
    )
    parser.add_argument(
        "--basket",
        type=int,
        default=1,
        help="orders per engine.submit_many call (p50/p99 per call)",
    )
    parser.add_argument(
        "--clients", type=int, default=1, help="threads submitting at once (engine.submit)"
    )
    args = parser.parse_args()
    result = run(
        args.orders,
        args.synchronous,
        gates=args.gates,
        memory=args.memory,
        basket=args.basket,
        clients=args.clients,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
