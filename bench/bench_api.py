"""Requests/s and latency of ``POST /v1/intents`` through a real ``ordergate serve``.

Starts ``ordergate serve`` as its own process on a free loopback port, marks one symbol,
then sends market intents from ``--concurrency`` client threads (keep-alive connections)
and prints one JSON line: requests/s, p50/p99/max in ms, status counts, and every
setting it changed from the defaults (``changed_from_defaults``).

Everything else is a default: SQLite file with ``synchronous=FULL``, the paper broker,
every pre-trade gate (kill switches, trading state, loss breakers, the 2 s duplicate-
order guard, limits), JSON logs at INFO, retention at start. What it changes, exactly:

- ``ORDERGATE_API_TOKEN``: a known token, so the clients can send it;
- ``ORDERGATE_EXEC_MAX_ORDERS_PER_MIN`` 120 → 10,000,000 and
  ``ORDERGATE_EXEC_REQUESTS_PER_SECOND`` 20 → 1,000,000: the throttle and the broker
  rate limit would pace the run (120 orders a minute), not measure the API;
- ``risk.breakers.max_trades_per_day`` 100 and ``max_trades_per_strategy_per_day`` 50
  → none (unless ``--strict-defaults``): past them every order is rejected before the
  broker, and the figure would be the rejection path's.

Each intent has its own quantity so the duplicate-order guard lets it through, and
every order buys, so no realized loss trips the loss breakers.

    python bench/bench_api.py [--requests 2000] [--concurrency 8] [--strict-defaults]
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

from bench_submit import raw_commit

TOKEN = "bench-token-0123456789abcdef"

#: Every environment setting this benchmark changes from the defaults (see the docstring).
CHANGED_ENV = {
    "ORDERGATE_API_TOKEN": TOKEN,
    "ORDERGATE_EXEC_MAX_ORDERS_PER_MIN": "10000000",
    "ORDERGATE_EXEC_REQUESTS_PER_SECOND": "1000000",
}
#: The trade-count breakers lifted (a ``ordergate.yaml`` in the run's directory).
LIFTED_BREAKERS = {"max_trades_per_day": None, "max_trades_per_strategy_per_day": None}


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
    changed: dict[str, object] = {
        k: v for k, v in CHANGED_ENV.items() if k != "ORDERGATE_API_TOKEN"
    }
    if not args.strict_defaults:  # so the measured path includes the broker and the fills
        (workdir / "ordergate.yaml").write_text(
            json.dumps({"risk": {"breakers": LIFTED_BREAKERS}})  # JSON is YAML
        )
        changed.update({f"risk.breakers.{k}": v for k, v in LIFTED_BREAKERS.items()})
    raw = raw_commit(workdir, "FULL")  # the disk's price per commit, this run
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_")
    }  # nothing of the caller's settings leaks in
    env.update(CHANGED_ENV)
    # the server runs this tree's code: the caller's PYTHONPATH (``src``, relative) would
    # name nothing from the run's directory, and the interpreter would find whichever
    # ordergate is installed instead — a paired run would measure one tree twice
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
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
                "raw_commit": raw,
                "server_code": src,
                "changed_from_defaults": changed,
            }
        )
    )


if __name__ == "__main__":
    main()
