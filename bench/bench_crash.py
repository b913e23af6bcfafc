"""Crash sweep benchmark: N trials per step of the submit path; prints JSON.

``python bench/bench_crash.py --trials 200`` (the target: 0 duplicates, 0 lost).
Each trial kills the engine process with SIGKILL at one labelled step, restarts it,
recovers, and checks the store against the exchange process (see tests/crash/sweep.py).
``--spawn`` starts a fresh interpreter per engine life instead of forking one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.crash.sweep import run_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20, help="trials per step")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spawn", action="store_true", help="python per engine life")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ordergate-crash-") as workdir:
        result = run_sweep(args.trials, Path(workdir), args.seed, spawn=args.spawn)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
