"""Instructions per order of the submit and backtest benches, counted by callgrind.

Each bench body (``bench_submit.run(n, "FULL", memory=True)`` and
``bench_backtest.run(n, True)``: one market order a tick) runs under
``valgrind --tool=callgrind`` at two lengths, with Python's cycle collector off (its
passes depend on the heap, not on the order). The difference of the two totals divided
by the difference of the lengths is what one more order costs: interpreter start-up,
imports, the engine's construction and the warm-up cancel out. The count is the same on
every run, whatever the machine's load, so it is what a change is judged by; the
wall-clock figures of the benches themselves are quoted beside it.

Each tree is measured with its own bench scripts and sources (``TREE/bench``,
``TREE/src``); ``--ref`` adds a reference tree to the same run (for example a
``git worktree add /tmp/ref 2f2e5ea``), with the ratio of this tree's counts to it.

    python bench/bench_instructions.py                            # this tree, both benches
    python bench/bench_instructions.py --ref /tmp/ref-2f2e5ea     # and a reference
    python bench/bench_instructions.py --bench submit --short 200 --long 1200

Prints one JSON line. Needs ``valgrind`` on the PATH; each run takes a minute or so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

#: The body each bench runs: ``{n}`` is the run's length in orders (ticks).
BODIES = {
    "submit": "import bench_submit as b; b.run({n}, 'FULL', memory=True)",
    "backtest": "import bench_backtest as b; b.run({n}, True{store})",
}


def count(tree: Path, bench: str, n: int, python: str, store: str = "") -> int:
    """Instructions callgrind counts for one run of ``bench`` at length ``n`` in ``tree``
    (``store``: the backtest runner's ``store_path``, where the tree's bench takes one)."""
    body = "import gc, sys; gc.disable(); sys.path.insert(0, 'bench'); " + BODIES[bench]
    body = body.replace("{store}", f", store={store!r}" if store else "")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            python, "-c", body.format(n=n),
        ]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(tree / "src"), PYTHONHASHSEED="0")
        subprocess.run(command, cwd=tree, env=env, check=True, capture_output=True)
        for line in out.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no total in callgrind's output for {tree} {bench} {n}")


def per_order(tree: Path, bench: str, short: int, long: int, python: str, store: str = "") -> float:
    longer, shorter = (count(tree, bench, n, python, store) for n in (long, short))
    return (longer - shorter) / (long - short)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", choices=[*BODIES, "both"], default="both")
    parser.add_argument("--ref", type=Path, help="a reference tree measured in the same run")
    parser.add_argument("--short", type=int, default=300, help="orders of the short run")
    parser.add_argument("--long", type=int, default=1300, help="orders of the long run")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument(
        "--store", default="", help="the backtest store_path in this tree (a reference: its own)"
    )
    args = parser.parse_args()
    benches = list(BODIES) if args.bench == "both" else [args.bench]
    line: dict[str, object] = {"bench": "instructions_per_order", "short": args.short,
                               "long": args.long, "store": args.store or None}  # fmt: skip
    for bench in benches:
        mine = per_order(HERE, bench, args.short, args.long, args.python, args.store)
        entry: dict[str, object] = {"this": round(mine)}
        if args.ref is not None:
            ref = per_order(args.ref.resolve(), bench, args.short, args.long, args.python)
            entry.update(ref=round(ref), ratio=round(mine / ref, 4))
        line[bench] = entry
    print(json.dumps(line))


if __name__ == "__main__":
    main()
