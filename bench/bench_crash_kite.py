"""Crash sweep with the Kite adapter: N trials per step of the submit path; prints JSON.

``python bench/bench_crash_kite.py --trials 200`` (the target: 0 duplicates, 0 lost;
``unknown_reported`` counts orders that died marked SUBMITTED before they were sent:
Kite cannot prove absence, so they are left for a person, never re-placed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.brokers.kite.crash import run_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20, help="trials per step")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ordergate-crash-kite-") as workdir:
        print(json.dumps(run_sweep(args.trials, Path(workdir), args.seed), indent=2))


if __name__ == "__main__":
    main()
