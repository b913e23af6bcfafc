"""Backtest throughput through the live engine path; prints one JSON line.

N ticks (marks with volume) of one instrument. With orders: one market order of 1 per
tick, alternating buy and sell, each through ``engine.submit`` — the default gate chain
(trade-count breakers and the duplicate guard off, since a million alternating orders
a day is the point), the store (in memory), the paper broker over the simulated
venue, filled on the next tick and booked to the position. Without orders: the same
ticks, a strategy that answers nothing.

    python bench/bench_backtest.py                        # 10k, 100k and 1M
    python bench/bench_backtest.py --sizes 10000,100000   # chosen sizes
    python bench/bench_backtest.py --n 20000 --profile    # one N in-process, cProfile on stderr
    python bench/bench_backtest.py --store :memory:       # the in-memory store (main's default)

Each size runs in a fresh child process (so its peak RSS is its own) and reports
orders/s, µs per order, the process's CPU µs per order (steadier on a machine shared
with other work), the RSS just before the run, the peak RSS (``ru_maxrss``) and their
difference (what the run itself grew). The ticks are made on demand
(:class:`Ticks`), so the input data holds no memory at any size; the no-orders run
(the same ticks, a strategy that answers nothing) is the floor. The store is the
runner's ``store_path`` (``--store``); ``--no-orders-too`` adds the floor run.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
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


FREEZE = os.environ.get("BT_FREEZE", "1") == "1"
BENCH_CASH = Decimal(10) ** 12
STEP = timedelta(milliseconds=10)
VOLUME = Decimal(1000)
PRICES = [Decimal(10_000 + (i % 40) - 20) / 100 for i in range(40)]


class Ticks(Sequence[MarketEvent]):
    """A deterministic zig-zag around 100 with 1,000 shares a tick, 10 ms apart, each
    tick made when asked for (the same ticks as a list, without holding them)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.n))]
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return Mark(symbol="BENCH", last=PRICES[i % 40], volume=VOLUME, ts=START + i * STEP)

    def __iter__(self) -> Any:
        for i in range(self.n):
            yield Mark(symbol="BENCH", last=PRICES[i % 40], volume=VOLUME, ts=START + i * STEP)


def ticks(n: int) -> list[MarketEvent]:
    return list(Ticks(n))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


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


def progress(began: float) -> Any:
    """With BT_PROGRESS=1, a line on stderr every 5 %: ticks done, seconds, RSS."""
    if os.environ.get("BT_PROGRESS") != "1":
        return None
    state = {"next": 0.0}

    def report(done: int, total: int) -> None:
        if done / total >= state["next"]:
            state["next"] += 0.05
            line = {"done": done, "of": total, "s": round(time.perf_counter() - began, 1)}
            line["rss_mb"] = round(rss_mb(), 1)
            line["load_1m"] = round(os.getloadavg()[0], 2)
            print(json.dumps(line), file=sys.stderr, flush=True)

    return report


def run(n: int, with_orders: bool, profile: bool = False, store: str = "") -> dict[str, Any]:
    gc.collect()  # the cycles a previous run left are not this run's work
    events = Ticks(n)
    risk = RiskConfig(breakers=BENCH_BREAKERS, duplicate_guard=None)
    # every order pays the $1 minimum fee: a million of them would spend $1M of cash,
    # and buying power would then refuse the rest; the bench's cash never runs out
    cash = {"starting_cash": BENCH_CASH, "freeze_gc": FREEZE}
    config = BacktestConfig(fill_model="participation", detail=False, **cash)
    if store:
        config = BacktestConfig(fill_model="participation", detail=False, store_path=store, **cash)
    runner = BacktestRunner(config, risk=risk)
    before = rss_mb()
    strategy = Alternate().on_event if with_orders else nothing
    profiler = cProfile.Profile() if profile else None
    began, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    result = runner.run(events, strategy, strategy_id="bench", on_progress=progress(began))
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
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    out["rss_growth_mb"] = round(out["peak_rss_mb"] - before, 1)
    if with_orders:
        out.update(
            orders=summary["orders"],
            fills=summary["fills"],
            rejected=summary["rejected"],
            orders_per_s=round(summary["orders"] / seconds),
            us_per_order=round(seconds / max(1, summary["orders"]) * 1e6, 2),
            cpu_us_per_order=round(cpu / max(1, summary["orders"]) * 1e6, 2),
            rss_growth_bytes_per_order=round(
                out["rss_growth_mb"] * 2**20 / max(1, summary["orders"])
            ),
            position=result.positions[0]["qty"] if result.positions else "0",
        )
    return out


def child(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """One size in a fresh interpreter: its peak RSS is its own."""
    command = [sys.executable, __file__, "--one", str(n), "--store", args.store]
    if args.no_orders_too:
        command.append("--no-orders-too")
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def one(n: int, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"n": n, "with_orders": run(n, True, args.profile, args.store)}
    if args.no_orders_too:
        out["no_orders"] = run(n, False, store=args.store)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="ticks, comma-separated")
    parser.add_argument("--n", type=int, help="one size, in this process")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help="cProfile the order run (--n)")
    parser.add_argument("--store", default="", help="the runner's store_path (default: its own)")
    parser.add_argument("--no-orders-too", action="store_true", help="add the no-orders floor")
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args)))
        return
    if args.n is not None:
        results = [one(args.n, args)]
    else:
        results = [child(int(n), args) for n in args.sizes.split(",")]
    line = {
        "bench": "backtest",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "store": args.store or "default",
        "results": results,
    }
    print(json.dumps(line, separators=(",", ":")))


if __name__ == "__main__":
    main()
