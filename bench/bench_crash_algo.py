"""SIGKILL sweep with a TWAP running: N trials; prints one JSON line.

``python bench/bench_crash_algo.py --trials 50`` (the target: 0 duplicates, 0 orphans,
0 overfilled, 0 not resumed). Each trial forks an engine working a 12-slice TWAP of 60
over 4 s against the exchange process (``dedupe=false``), kills it with SIGKILL at a
random moment, restarts it (recovery, the same parent key) and checks the exchange:
see ``tests/algos/crash_sweep.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.algos.crash_sweep import run_sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ordergate-crash-algo-") as workdir:
        result = run_sweep(args.trials, Path(workdir), args.seed)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
