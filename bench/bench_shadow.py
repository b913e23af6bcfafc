"""What shadow mode adds to a live order: the submit path on the simulated exchange,
with and without a shadow twin beside the engine.

The simulated exchange runs as its own process (``python -m ordergate.exchange``, as
``bench_crash.py`` starts it); each round builds two engines through the one
composition root (``build_runtime``, adapter ``exchange``), each on its own SQLite file
in a temporary directory, and sends the same market orders through each: one plain,
one with ``attach_shadow`` (the twin, its store beside the engine's, its worker
thread). Orders alternate buy and sell of 1 share; every ``--mark-every`` orders the
engine marks the market again (the twin simulates against those marks too). Changes
from the defaults, in both runs alike: ``sqlite_synchronous`` as asked (default
NORMAL: the shadow's cost is not hidden in the disk's fsync noise), the throttle and
rate limit raised out of the way, ``risk_enabled`` off (the operator's gates still run),
the audit key and checkpoint in the temporary directory. The order of the two runs
alternates from round to round.

Prints one JSON line: per run p50/p99/max of ``engine.submit`` in ms (median over the
rounds), the difference shadow makes, what the twin applied and dropped, and how long
it took to catch up after the last order.

    python bench/bench_shadow.py --orders 2000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ordergate.bootstrap import build_runtime
from ordergate.config import load_settings
from ordergate.obs.logging import configure_logging
from ordergate.obs.redact import Redactor

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def exchange_process(workdir: Path) -> Iterator[str]:
    """The simulated exchange as its own process; its URL."""
    cmd = [sys.executable, "-m", "ordergate.exchange", "--port", "0"]
    cmd += ["--db", str(workdir / "exchange.db")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        yield str(json.loads(line)["listening"])
    finally:
        if proc.stdout:
            proc.stdout.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def one_run(
    url: str, workdir: Path, orders: int, warmup: int, mark_every: int, *, shadow: bool, sync: str
) -> dict[str, Any]:
    settings = load_settings(
        database_url=f"sqlite:///{workdir / 'engine.db'}",
        sqlite_synchronous=sync,
        exec_broker_adapter="exchange",
        exchange_url=url,
        exec_max_orders_per_min=1_000_000_000,
        exec_requests_per_second=1_000_000_000,
        risk_enabled=False,
        audit_dir=str(workdir / "audit"),
        shadow=shadow,
    )
    runtime = build_runtime(settings)
    engine = runtime.engine
    twin = runtime.shadow  # the root attaches it when settings.shadow
    latencies: list[float] = []
    try:
        for i in range(warmup + orders):
            if i % mark_every == 0:
                engine.mark("AAPL", "100.00", bid="99.99", ask="100.01", volume="1000000")
            intent = {
                "symbol": "AAPL",
                "side": "buy" if i % 2 == 0 else "sell",
                "qty": "1",
                "idempotency_key": f"{workdir.name}-{i}",
            }
            t0 = time.perf_counter()
            report = engine.submit(intent)
            latencies.append(time.perf_counter() - t0)
            if report.status.value != "FILLED":
                raise SystemExit(f"order {i} ended {report.status} {report.error_message}")
        caught_up_s = None
        stats: dict[str, int] = {}
        if twin is not None:
            t0 = time.perf_counter()
            if not twin.drain(120):
                raise SystemExit("the twin did not catch up within 120 s")
            caught_up_s = round(time.perf_counter() - t0, 3)
            stats = twin.stats()
    finally:
        if twin is not None:
            twin.close()
        engine.broker.close()  # type: ignore[attr-defined]
        engine.store.close()
    measured = sorted(latencies[warmup:])
    return {
        "p50_ms": statistics.median(measured) * 1000,
        "p99_ms": measured[int(len(measured) * 0.99) - 1] * 1000,
        "max_ms": measured[-1] * 1000,
        "twin_caught_up_s": caught_up_s,
        **stats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mark-every", type=int, default=50)
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="NORMAL")
    args = parser.parse_args()
    configure_logging(Redactor(), level="WARNING", stream=sys.stderr)  # stdout: the JSON line
    runs: dict[str, list[dict[str, Any]]] = {"plain": [], "shadow": []}
    with tempfile.TemporaryDirectory() as tmp, exchange_process(Path(tmp)) as url:
        for r in range(args.rounds):
            order = ["plain", "shadow"] if r % 2 == 0 else ["shadow", "plain"]
            for name in order:
                workdir = Path(tmp) / f"{name}-{r}"
                workdir.mkdir()
                runs[name].append(
                    one_run(
                        url,
                        workdir,
                        args.orders,
                        args.warmup,
                        args.mark_every,
                        shadow=name == "shadow",
                        sync=args.synchronous,
                    )
                )

    def median(name: str, key: str) -> float:
        return round(statistics.median(run[key] for run in runs[name]), 3)

    result: dict[str, Any] = {
        "bench": "shadow_on_exchange",
        "synchronous": args.synchronous,
        "orders": args.orders,
        "rounds": args.rounds,
    }
    for name in runs:
        result[name] = {k: median(name, k) for k in ("p50_ms", "p99_ms", "max_ms")}
    result["shadow_adds_ms"] = {
        k: round(result["shadow"][k] - result["plain"][k], 3) for k in ("p50_ms", "p99_ms")
    }
    result["twin"] = {
        "applied": [run["applied"] for run in runs["shadow"]],
        "dropped": [run["dropped"] for run in runs["shadow"]],
        "failed": [run["failed"] for run in runs["shadow"]],
        "caught_up_s": [run["twin_caught_up_s"] for run in runs["shadow"]],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
