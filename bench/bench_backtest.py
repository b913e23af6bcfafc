"""Backtest throughput through the live engine path; prints one JSON line.

N ticks (marks with volume) of one instrument. With orders: one market order of 1 per
tick, alternating buy and sell, each through ``engine.submit`` — the default gate chain
(trade-count breakers and the duplicate guard off, since a million alternating orders
a day is the point), the store (in memory), the paper broker over the simulated
venue, filled on the next tick and booked to the position. Without orders: the same
ticks, a strategy that answers nothing.

    python bench/bench_backtest.py                 # N = 10,000 and 1,000,000
    python bench/bench_backtest.py --n 50000       # one N
    python bench/bench_backtest.py --n 20000 --profile   # cProfile top 25 on stderr

Each run reports wall-clock µs per tick and the process's CPU µs per tick (steadier on
a machine shared with other work); the cycles a previous run left are collected before
a run starts, so the second run does not pay for the first one's garbage.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ordergate.backtest.examples import Alternate
from ordergate.backtest.runner import BacktestConfig, BacktestRunner
from ordergate.domain.market import Mark
from ordergate.risk.breakers import BreakerConfig
from ordergate.risk.config import RiskConfig
from ordergate.sim.data import MarketEvent

START = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
#: Every round trip loses the spread and fees by design, so the loss breakers would
#: stop the run; the gates still run on every order, with these limits off.
BENCH_BREAKERS = BreakerConfig(
    max_daily_loss=None,
    max_daily_drawdown_pct=None,
    max_trades_per_day=None,
    max_trades_per_strategy_per_day=None,
    max_loss_streak=None,
)


def ticks(n: int) -> list[MarketEvent]:
    """A deterministic zig-zag around 100 with 1,000 shares a tick, 10 ms apart."""
    step = timedelta(milliseconds=10)
    volume = Decimal(1000)
    prices = [Decimal(10_000 + (i % 40) - 20) / 100 for i in range(40)]
    return [
        Mark(symbol="BENCH", last=prices[i % 40], volume=volume, ts=START + i * step)
        for i in range(n)
    ]


def nothing(event: MarketEvent, ctx: Any) -> None:
    return None


def report_profile(profiler: cProfile.Profile) -> None:
    """Own time by package (engine, store, obs, sim, …) and the top functions, on stderr."""
    stats = pstats.Stats(profiler, stream=sys.stderr)
    by_area: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "/ordergate/" in filename:
            area = "ordergate." + filename.split("/ordergate/")[1].split("/")[0].removesuffix(".py")
        elif filename.startswith("~") or filename.startswith("<"):
            area = "builtins (sqlite3, json C code, Decimal, …)"
        else:
            area = filename.rsplit("/", 2)[-2] + "/" + filename.rsplit("/", 1)[-1]
        by_area[area] = by_area.get(area, 0.0) + own
    total = sum(by_area.values())
    print(f"own time by area, {total:.2f} s:", file=sys.stderr)
    for area, own in sorted(by_area.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {own / total:6.1%}  {own:7.2f} s  {area}", file=sys.stderr)
    stats.sort_stats("cumulative").print_stats(30)


def run(n: int, with_orders: bool, profile: bool = False) -> dict[str, Any]:
    gc.collect()  # the cycles a previous run left are not this run's work
    events = ticks(n)
    risk = RiskConfig(breakers=BENCH_BREAKERS, duplicate_guard=None)
    runner = BacktestRunner(BacktestConfig(fill_model="participation", detail=False), risk=risk)
    strategy = Alternate().on_event if with_orders else nothing
    profiler = cProfile.Profile() if profile else None
    began, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    result = runner.run(events, strategy, strategy_id="bench")
    if profiler is not None:
        profiler.disable()
        report_profile(profiler)
    seconds = time.perf_counter() - began
    cpu = time.process_time() - cpu
    summary = result.summary
    out: dict[str, Any] = {
        "ticks": n,
        "seconds": round(seconds, 3),
        "ticks_per_s": round(n / seconds),
        "us_per_tick": round(seconds / n * 1e6, 2),
        # CPU time of this process: steadier than the wall clock on a shared machine
        "cpu_us_per_tick": round(cpu / n * 1e6, 2),
    }
    if with_orders:
        out.update(
            orders=summary["orders"],
            fills=summary["fills"],
            rejected=summary["rejected"],
            orders_per_s=round(summary["orders"] / seconds),
            us_per_order=round(seconds / max(1, summary["orders"]) * 1e6, 2),
            position=result.positions[0]["qty"] if result.positions else "0",
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="ticks (repeatable)")
    parser.add_argument("--profile", action="store_true", help="cProfile the order run")
    args = parser.parse_args()
    sizes = args.n or [10_000, 1_000_000]
    results = []
    for n in sizes:
        results.append(
            {
                "n": n,
                "with_orders": run(n, True, args.profile),
                "no_orders": run(n, False),
            }
        )
    line = {
        "bench": "backtest",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "results": results,
    }
    print(json.dumps(line, separators=(",", ":")))


if __name__ == "__main__":
    main()
