"""NautilusTrader's backtest on ``bench_backtest.py``'s scenario; prints one JSON line.

The peer the issue compares against, not a dependency of ordergate. Install it in a
venv of its own and run it with that venv's Python:

    python3 -m venv /tmp/nt && /tmp/nt/bin/pip install nautilus_trader pandas
    /tmp/nt/bin/python bench/peers/nautilus_backtest.py --n 100000

The scenario is the bench's: one instrument, N trade ticks 10 ms apart zig-zagging
around 100.00 (the same 40 prices) with 1,000 shares each, and a strategy that sends
one market order of 1 share on every tick, alternating buy and sell, filled by the
simulated exchange (trade ticks execute, netting account, ample cash). What is timed
is ``engine.run()``: the ticks are built and loaded before (Nautilus needs its data in
memory; they count in the peak RSS). Each size runs in this process; ``--sizes`` runs
each in a fresh child so every peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from typing import Any

START_NS = 1_767_623_400_000_000_000  # 2026-01-05 14:30 UTC, the bench's START
STEP_NS = 10_000_000  # 10 ms
PRICES = [f"{(10_000 + (i % 40) - 20) / 100:.2f}" for i in range(40)]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(n: int) -> dict[str, Any]:
    from nautilus_trader import __version__
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig, StrategyConfig
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import TradeTick
    from nautilus_trader.model.enums import (
        AccountType,
        AggressorSide,
        OmsType,
        OrderSide,
        OrderStatus,
    )
    from nautilus_trader.model.identifiers import InstrumentId, TradeId, Venue
    from nautilus_trader.model.objects import Money, Price, Quantity
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.trading.strategy import Strategy

    class AlternateConfig(StrategyConfig, frozen=True):
        instrument_id: InstrumentId

    class Alternate(Strategy):
        """One market order of 1 on every tick, buy then sell."""

        def __init__(self, config: AlternateConfig) -> None:
            super().__init__(config)
            self.instrument_id = config.instrument_id
            self.count = 0
            self.one = Quantity.from_int(1)

        def on_start(self) -> None:
            self.subscribe_trade_ticks(self.instrument_id)

        def on_trade_tick(self, tick: TradeTick) -> None:
            side = OrderSide.BUY if self.count % 2 == 0 else OrderSide.SELL
            self.count += 1
            self.submit_order(self.order_factory.market(self.instrument_id, side, self.one))

    before = rss_mb()
    engine = BacktestEngine(
        config=BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR", bypass_logging=True))
    )
    venue = Venue("XNAS")
    engine.add_venue(
        venue=venue,
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=USD,
        starting_balances=[Money(1_000_000_000, USD)],
        trade_execution=True,
    )
    instrument = TestInstrumentProvider.equity(symbol="BENCH", venue="XNAS")
    engine.add_instrument(instrument)
    prices = [Price.from_str(p) for p in PRICES]
    size = Quantity.from_int(1000)
    ticks = [
        TradeTick(
            instrument.id,
            prices[i % 40],
            size,
            AggressorSide.BUYER if i % 2 == 0 else AggressorSide.SELLER,
            TradeId(str(i + 1)),
            START_NS + i * STEP_NS,
            START_NS + i * STEP_NS,
        )
        for i in range(n)
    ]
    engine.add_data(ticks)
    del ticks
    strategy = Alternate(AlternateConfig(instrument_id=instrument.id))
    engine.add_strategy(strategy)
    loaded = rss_mb()
    began, cpu = time.perf_counter(), time.process_time()
    engine.run()
    seconds = time.perf_counter() - began
    cpu = time.process_time() - cpu
    orders = strategy.count
    statuses = [order.status for order in engine.cache.orders()]
    filled = statuses.count(OrderStatus.FILLED)
    refused = statuses.count(OrderStatus.DENIED) + statuses.count(OrderStatus.REJECTED)
    position = engine.portfolio.net_position(instrument.id)
    out = {
        "nautilus_trader": __version__,
        "ticks": n,
        "orders": orders,
        "filled": filled,
        "refused": refused,
        "position": str(position),
        "seconds": round(seconds, 3),
        "orders_per_s": round(orders / seconds),
        "us_per_order": round(seconds / max(1, orders) * 1e6, 2),
        "cpu_us_per_order": round(cpu / max(1, orders) * 1e6, 2),
        "rss_before_mb": round(before, 1),
        "rss_loaded_mb": round(loaded, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    out["rss_growth_mb"] = round(out["peak_rss_mb"] - before, 1)
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, help="one size, in this process")
    parser.add_argument("--sizes", default="10000,100000", help="ticks, comma-separated")
    args = parser.parse_args()
    if args.n is not None:
        results = [run(args.n)]
    else:
        results = []
        for n in args.sizes.split(","):
            done = subprocess.run(
                [sys.executable, __file__, "--n", n], capture_output=True, text=True, check=True
            )
            results.append(json.loads(done.stdout)["results"][0])
    line = {
        "bench": "nautilus_backtest",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "results": results,
    }
    print(json.dumps(line, separators=(",", ":")))


if __name__ == "__main__":
    main()
