"""Crash sweep against the live adapters (Alpaca, ccxt/Binance) and their fakes; prints JSON.

``python bench/bench_crash_live.py --trials 200`` (per step of the submit path; the
target: 0 duplicates, 0 lost). The fake runs in this process; every engine life is a
forked child killed by SIGKILL at one step, then restarted and recovered
(see ``tests/brokers/live_crash.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import structlog
from tests.brokers.alpaca.conftest import KEY as ALPACA_KEY
from tests.brokers.alpaca.conftest import SECRET as ALPACA_SECRET
from tests.brokers.alpaca.fake import ACCOUNT_ID, FakeAlpaca
from tests.brokers.alpaca.harness import build as build_alpaca
from tests.brokers.ccxt_binance.conftest import KEY as BINANCE_KEY
from tests.brokers.ccxt_binance.conftest import SECRET as BINANCE_SECRET
from tests.brokers.ccxt_binance.fake import UID, FakeBinance
from tests.brokers.ccxt_binance.harness import build as build_binance
from tests.brokers.live_crash import run_sweep
from tests.crash.driver import LABELS

from ordergate.brokers.ccxt.adapter import CcxtBroker


def alpaca(trials: int, workdir: Path, seed: int) -> dict[str, Any]:
    fake = FakeAlpaca(ALPACA_KEY, ALPACA_SECRET).start()
    fake.mark("AAPL", Decimal(100))
    try:
        return run_sweep(
            lambda: build_alpaca(fake, stream=False),
            lambda cid: len(fake.orders_for(cid)),
            workdir,
            account=ACCOUNT_ID,
            symbol="AAPL",
            qty=lambda rng: str(rng.randint(1, 20)),
            trials_per_label=trials,
            seed=seed,
        )
    finally:
        fake.stop()


def unthrottled(fake: FakeBinance) -> CcxtBroker:
    """The adapter against the fake with ccxt's client-side limiter off: it paces calls
    by Binance's request weights (about 0.1 s a call, half of each engine life), which
    the in-process fake does not enforce; the engine's own limiter stays on. The steps
    killed and the checks made are the same."""
    broker = build_binance(fake)
    broker._ex.enableRateLimit = False
    return broker


#: Trials against one fake Binance: its book and its trades grow with every trial, and
#: every look-up and poll reads the symbol's whole trade list (the sweep slowed from ~1 s
#: to ~6 s a trial by trial 450), so each chunk of a step gets a fresh fake.
CHUNK = 25


def binance(trials: int, workdir: Path, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {"trials": 0, "crashed": {}, "problems": []}
    chunk = 0
    for label in LABELS:
        for start in range(0, trials, CHUNK):
            chunk += 1
            fake = FakeBinance(BINANCE_KEY, BINANCE_SECRET).start()
            try:
                part = run_sweep(
                    lambda fake=fake: unthrottled(fake),
                    lambda cid, fake=fake: len(fake.orders_for(cid)),
                    workdir,
                    account=str(UID),
                    symbol="BTC/USDT",
                    qty=lambda rng: f"{rng.randint(1, 2000) / 1000:.3f}",
                    trials_per_label=min(CHUNK, trials - start),
                    seed=seed + chunk,
                    labels=(label,),
                )
            finally:
                fake.stop()
            for key in ("trials", "duplicates", "lost", "position_mismatches", "unknown"):
                out[key] = out.get(key, 0) + part[key]
            for step, n in part["crashed"].items():
                out["crashed"][step] = out["crashed"].get(step, 0) + n
            out["problems"] = (out["problems"] + part["problems"])[:10]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=200, help="trials per step")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=("alpaca", "ccxt"), default=None)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    out: dict[str, Any] = {}
    for name, sweep in (("alpaca", alpaca), ("ccxt", binance)):
        if args.only not in (None, name):
            continue
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"ordergate-crash-{name}-") as workdir:
            result = sweep(args.trials, Path(workdir), args.seed)
        result["wall_seconds"] = round(time.perf_counter() - started, 2)
        out[name] = result
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
