"""Crash sweep with the Interactive Brokers adapter: N trials per submit-path step; JSON.

``python bench/bench_crash_ibkr.py --trials 200`` (the target: 0 duplicates, 0 lost,
0 position mismatches). Each trial runs the real ib_async against a fresh fake TWS on
127.0.0.1, kills the engine process with SIGKILL at one labelled step, restarts it,
recovers, and checks the store against the fake's book (tests/brokers/ibkr/crash.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.brokers.ibkr.crash import run_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20, help="trials per step")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ordergate-crash-ibkr-") as workdir:
        result = run_sweep(args.trials, Path(workdir), args.seed)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
