"""Start-up of one-shot ``ordergate`` commands (issue 21), paired in the same run.

Each code tree (this checkout's ``src``, and ``--ref SRC`` when given: another
checkout's ``src``, say the previous commit in a ``git worktree``) gets its own
temporary directory with a SQLite store, a mark (``ordergate mark AAPL --last 150``)
and one order (``submit --key k``); ``.pyc`` files are written for the tree first
(``compileall``), and those first commands leave what a start keeps between runs
(``ordergate/__pycache__``). Then, ``--runs`` times in turn, whole processes are
started: ``python -c pass``, and for each tree ``submit --key k`` (a replay: the key
was seen before), ``submit --key n<run>`` (a new order, filled by the paper venue)
and ``ordergate --help``. Each child's CPU time (user + system) is read from
``wait4``'s resource usage; its wall time from the parent's clock. The children get a
clean environment (``PATH``, ``HOME``, ``PYTHONPATH`` only).

Prints one JSON line: per command the median and minimum CPU seconds and the median
wall seconds, the ratio of this tree to the reference (medians), and the one-minute
load average before and after. ``--instructions`` adds, per tree and command, the
instructions of one run under ``valgrind --tool=callgrind`` (repeatable under load).

    python bench/bench_startup.py --runs 15 --ref /tmp/ref/src --instructions
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
ORDER = ["submit", "--symbol", "AAPL", "--side", "buy", "--qty", "1", "--key"]
REPLAY = [*ORDER, "k"]
HELP = ["--help"]


def commands_of(run: int) -> dict[str, list[str]]:
    """The commands timed in run ``run``: a new order takes a key no run has used."""
    return {"replay": REPLAY, "new order": [*ORDER, f"n{run}"], "help": HELP}


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
        raise SystemExit(f"{cmd[3:]} in {cwd} exited {proc.returncode}")
    return usage.ru_utime + usage.ru_stime, wall


def instructions(cmd: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Instructions of one whole process under callgrind (the interpreter's own included)."""
    out = cwd / "callgrind.out"
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
        cwd=cwd,
        env={**env, "PYTHONHASHSEED": "0"},  # the same dict layouts every run
        check=True,
        capture_output=True,
    )
    for line in out.read_text().splitlines():
        if line.startswith("summary:"):
            out.unlink()
            return int(line.split()[1])
    raise SystemExit(f"no summary in {out}")


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
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (valgrind)"
    )
    opts = parser.parse_args()
    trees: dict[str, Path] = {"this": SRC}
    if opts.ref is not None:
        trees["ref"] = opts.ref.resolve()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="og-startup-") as tmp:
        base = Path(tmp)
        places: dict[str, tuple[Path, dict[str, str]]] = {}
        for name, src in trees.items():
            workdir = base / name
            workdir.mkdir()
            prepare(src, workdir)
            places[name] = (workdir, clean_env(src, workdir))
        passes: list[tuple[float, float]] = []
        results: dict[str, dict[str, list[tuple[float, float]]]] = {
            name: {what: [] for what in commands_of(0)} for name in trees
        }
        for run in range(opts.runs):
            passes.append(timed([sys.executable, "-c", "pass"], base, clean_env(None, base)))
            for what, args in commands_of(run).items():
                for name, (cwd, env) in places.items():
                    results[name][what].append(
                        timed([sys.executable, "-c", SUBMIT, *args], cwd, env)
                    )
        counted: dict[str, dict[str, int]] = {}
        if opts.instructions:
            counted["python -c pass"] = {
                "pass": instructions([sys.executable, "-c", "pass"], base, clean_env(None, base))
            }
            for name, (cwd, env) in places.items():
                counted[name] = {
                    what: instructions([sys.executable, "-c", SUBMIT, *args], cwd, env)
                    for what, args in commands_of(opts.runs).items()
                }
    out: dict[str, Any] = {
        "bench": "startup",
        "commands": {"replay": "ordergate " + " ".join(REPLAY), "new order": "… --key n<run>"},
        "runs": opts.runs,
        "load_1m_before": round(load_before, 2),
        "load_1m_after": round(os.getloadavg()[0], 2),
        "python -c pass": summary(passes),
        **{name: {what: summary(r) for what, r in runs.items()} for name, runs in results.items()},
    }
    if "ref" in out:
        out["ratio_cpu_median"] = {
            what: round(out["this"][what]["cpu_median_s"] / out["ref"][what]["cpu_median_s"], 3)
            for what in commands_of(0)
        }
    if counted:
        out["instructions"] = counted
        if "ref" in counted:
            out["ratio_instructions"] = {
                what: round(counted["this"][what] / counted["ref"][what], 3)
                for what in commands_of(0)
            }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
