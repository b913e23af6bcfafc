"""Crash sweep over FIX: N trials per step of the submit path against the QuickFIX
acceptor process; prints JSON. ``python bench/bench_crash_fix.py --trials 200``
(the target: 0 duplicates, 0 lost, 0 position mismatches). Needs the extra ``fix``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.brokers.fix.crash import run_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20, help="trials per step")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--intents", type=int, default=4, help="intents per trial")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ordergate-crash-fix-") as workdir:
        result = run_sweep(args.trials, Path(workdir), args.seed, args.intents)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
