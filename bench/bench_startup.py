"""Start-up of a one-shot ``ordergate submit`` (issue 21), paired in the same run.

Each code tree (this checkout's ``src``, and ``--ref SRC`` when given: another
checkout's ``src``, say today's main in a ``git worktree``) gets its own temporary
directory with a SQLite store, a mark (``ordergate mark AAPL --last 150``) and one
order (``submit --key k``); ``.pyc`` files are written for the tree first
(``compileall``). Then, ``--runs`` times in turn, three whole processes are started:
``python -c pass``, and the same ``submit --key k`` for each tree (a replay: the key
was seen before). Each child's CPU time (user + system) is read from ``wait4``'s
resource usage; its wall time from the parent's clock. The children get a clean
environment (``PATH``, ``HOME``, ``PYTHONPATH`` only).

Prints one JSON line: per command the median and minimum CPU seconds and the median
wall seconds, the ratio of this tree to the reference (medians), and the one-minute
load average before and after.

    python bench/bench_startup.py --runs 15 --ref /work/wt/ref/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parent.parent / "src"

SUBMIT = (
    "import sys\n"
    "from ordergate.cli import main\n"
    "sys.argv = ['ordergate'] + sys.argv[1:]\n"
    "sys.exit(main())\n"
)
REPLAY = ["submit", "--symbol", "AAPL", "--side", "buy", "--qty", "1", "--key", "k"]


def clean_env(src: Path | None, home: Path) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def prepare(src: Path, workdir: Path) -> None:
    """``.pyc`` files for ``src``; a store in ``workdir`` with a mark and one order."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
    env = clean_env(src, workdir)
    for args in (["mark", "AAPL", "--last", "150"], REPLAY):
        subprocess.run(
            [sys.executable, "-c", SUBMIT, *args],
            cwd=workdir,
            env=env,
            check=True,
            capture_output=True,
        )


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """One whole process: (CPU seconds, wall seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[-len(REPLAY) :]} in {cwd} exited {proc.returncode}")
    return usage.ru_utime + usage.ru_stime, wall


def summary(runs: list[tuple[float, float]]) -> dict[str, float]:
    cpu = [c for c, _ in runs]
    return {
        "cpu_median_s": round(statistics.median(cpu), 4),
        "cpu_min_s": round(min(cpu), 4),
        "wall_median_s": round(statistics.median(w for _, w in runs), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--ref", type=Path, help="another checkout's src, run in turn")
    opts = parser.parse_args()
    trees: dict[str, Path] = {"this": SRC}
    if opts.ref is not None:
        trees["ref"] = opts.ref.resolve()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="og-startup-") as tmp:
        base = Path(tmp)
        commands: dict[str, tuple[list[str], Path, dict[str, str]]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], base, clean_env(None, base))
        }
        for name, src in trees.items():
            workdir = base / name
            workdir.mkdir()
            prepare(src, workdir)
            cmd = [sys.executable, "-c", SUBMIT, *REPLAY]
            commands[name] = (cmd, workdir, clean_env(src, workdir))
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(opts.runs):
            for name, (cmd, cwd, env) in commands.items():
                results[name].append(timed(cmd, cwd, env))
    out: dict[str, Any] = {
        "bench": "startup",
        "command": "ordergate " + " ".join(REPLAY) + " (a replay)",
        "runs": opts.runs,
        "load_1m_before": round(load_before, 2),
        "load_1m_after": round(os.getloadavg()[0], 2),
        **{name: summary(runs) for name, runs in results.items()},
    }
    if "ref" in out:
        out["ratio_cpu_median"] = round(out["this"]["cpu_median_s"] / out["ref"]["cpu_median_s"], 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
