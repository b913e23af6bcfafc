"""Requests/s and latency of ``POST /v1/intents`` on the defaults, through a real server.

Starts ``ordergate serve`` (SQLite file, paper broker, risk gates, JSON logs — all
defaults, except that the daily trade-count breakers are lifted so that every order
goes to the broker and fills; ``--strict-defaults`` keeps them) as its own process
on a free loopback port, marks one symbol, then sends market intents from
``--concurrency`` client threads (keep-alive connections) and prints one JSON line:
requests/s, p50/p99/max in ms, status counts.

    python bench/bench_api.py [--requests 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.serving import free_port, wait_until_serving

TOKEN = "bench-token-0123456789abcdef"


def _worker(
    url: str, start: int, count: int, latencies: list[float], statuses: Counter[str]
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for i in range(start, start + count):
            body = {
                "idempotency_key": f"bench-{i}",
                "symbol": "AAPL",
                "side": "buy",  # never closes: no realized losses trip the breakers
                # distinct sizes: the default duplicate-order guard (2 s) lets each through
                "qty": str(Decimal(10_000 + i) / 10_000),
            }
            t0 = time.perf_counter()
            response = client.post("/v1/intents", json=body)
            latencies.append((time.perf_counter() - t0) * 1000)
            outcome = response.json().get("status") if response.status_code == 201 else None
            statuses[f"{response.status_code}:{outcome or response.json()['error']['code']}"] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument(
        "--strict-defaults",
        action="store_true",
        help="Keep the daily trade-count breakers (100/day): most orders are then rejected.",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="og-bench-"))
    if not args.strict_defaults:  # so the measured path includes the broker and the fills
        (workdir / "ordergate.yaml").write_text(
            "risk:\n  breakers:\n    max_trades_per_day: null\n"
            "    max_trades_per_strategy_per_day: null\n"
        )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        ORDERGATE_API_TOKEN=TOKEN,
        # the API's own cost: no order throttle (seed 000's 120/min would pace the run)
        ORDERGATE_EXEC_MAX_ORDERS_PER_MIN="10000000",
        ORDERGATE_EXEC_REQUESTS_PER_SECOND="1000000",
    )
    with (workdir / "serve.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ordergate.service", "serve", "--db",
             str(workdir / "bench.db"), "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir,
        )  # fmt: skip
        try:
            wait_until_serving(url, proc, timeout=20)
            auth = {"Authorization": f"Bearer {TOKEN}"}
            httpx.post(f"{url}/v1/marks", json={"symbol": "AAPL", "last": "150"}, headers=auth)
            _worker(url, -args.warmup, args.warmup, [], Counter())
            latencies: list[float] = []
            statuses: Counter[str] = Counter()
            per = args.requests // args.concurrency
            threads = [
                threading.Thread(target=_worker, args=(url, n * per, per, latencies, statuses))
                for n in range(args.concurrency)
            ]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(15)
    cuts = statistics.quantiles(latencies, n=100)
    print(
        json.dumps(
            {
                "bench": "api_post_intents",
                "requests": len(latencies),
                "concurrency": args.concurrency,
                "requests_per_s": round(len(latencies) / elapsed, 1),
                "p50_ms": round(cuts[49], 2),
                "p99_ms": round(cuts[98], 2),
                "max_ms": round(max(latencies), 2),
                "statuses": dict(statuses),
                "config": "defaults (SQLite synchronous=FULL, paper broker, risk gates, JSON logs)"
                + ("" if args.strict_defaults else "; trade-count breakers lifted"),
            }
        )
    )


if __name__ == "__main__":
    main()
