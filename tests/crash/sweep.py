"""The crash sweep: kill the engine process at every step of the submit path.

One exchange process (``python -m ordergate.exchange``, ``dedupe=false`` so that a
blind resend *would* open a second order) serves every trial. A trial, on a fresh
engine database and exchange account:

1. runs the engine (``driver.py``) as a child process with
   ``ORDERGATE_CRASH_AT=<label>`` and a random ``ORDERGATE_CRASH_SKIP`` — it dies by
   SIGKILL at the n-th pass of that step. The child is forked from this process, which
   has the engine imported already (a fresh interpreter spends seconds importing on
   a busy 2-core machine); ``spawn=True`` runs ``python driver.py`` instead;
2. runs it again without a crash: recovery, then the same intents again;
3. checks: at most one exchange order per intent (*duplicates*); every intent has an
   order that ended in the state the exchange has, or a definitive reject, and no
   exchange order is unknown to the store (*lost*); positions equal to the exchange's,
   exactly, in Decimal (*position mismatches*); the same executions on both sides;
   every event in the outbox once, in chain order (*outbox problems*).

Every engine life submits from ``CLIENTS`` threads at once, so units of work are
committed in groups; three labels kill it while a group is formed and written.

Used by ``tests/crash/test_crash_sweep.py`` (a few trials) and ``bench/bench_crash.py``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.domain.enums import OrderStatus
from ordergate.domain.events import EXECUTION_REPORT_TOPIC
from ordergate.engine.engine import client_order_id_for
from ordergate.obs.audit import verify_chain
from ordergate.store.sqlite import SqliteStore

DRIVER = Path(__file__).with_name("driver.py")
ROOT = Path(__file__).resolve().parents[2]
LABELS = (
    "before_intent_commit",
    "after_intent_commit",
    "after_send",
    "after_reply",
    "after_receipt_persisted",
    "mid_fill",
)
#: Steps of a group commit: they happen only with concurrent submitters (the other
#: sweeps, one submitter each, keep to ``LABELS``).
GROUP_LABELS = ("group_forming", "group_writing", "group_written")
#: Engine threads submitting at once in each life (their units are committed in groups).
CLIENTS = 4


@contextmanager
def exchange_process(workdir: Path) -> Iterator[str]:
    """Start the exchange as its own process; yield its URL; stop it."""
    cmd = [
        sys.executable,
        "-m",
        "ordergate.exchange",
        "--port",
        "0",
        "--db",
        str(workdir / "exchange.db"),
        "--faults",
        json.dumps({"dedupe": False}),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        url = json.loads(line)["listening"]
        adapter = ExchangeBroker(url, stream=False)
        adapter.mark("AAPL", "100")
        adapter.mark("MSFT", "250")
        yield url
    finally:
        if proc.stdout:
            proc.stdout.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class Trial:
    label: str
    crashed: bool
    duplicates: int
    lost: int
    position_mismatches: int
    recovery_seconds: float
    #: chain breaks, gaps, an execution or a final state told twice
    outbox_problems: int
    settled_seconds: float
    problems: list[str] = field(default_factory=list)


def _driver(
    argv: list[str], env: dict[str, str], *, spawn: bool, timeout: float = 60
) -> tuple[int, dict[str, Any] | None, str]:
    """Run one engine life; return (exit code, negative for a signal; summary; stderr)."""
    if spawn:
        done = subprocess.run(
            [sys.executable, str(DRIVER), *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            check=False,
        )
        lines = done.stdout.strip().splitlines()
        summary = json.loads(lines[-1]) if done.returncode == 0 and lines else None
        return done.returncode, summary, done.stderr
    return _fork_driver(argv, env, timeout)


def _fork_driver(
    argv: list[str], env: dict[str, str], timeout: float
) -> tuple[int, dict[str, Any] | None, str]:
    from tests.crash import driver

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the engine process
        code = 1
        try:
            os.close(read_fd)
            os.environ.clear()
            os.environ.update(env)
            summary = driver.run(argv)
            os.write(write_fd, json.dumps(summary).encode())
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(write_fd)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read_fd)
            raise RuntimeError("the engine process hung")
        time.sleep(0.01)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return code, (json.loads(data) if code == 0 and data else None), ""


def run_trial(
    url: str,
    workdir: Path,
    label: str,
    rng: random.Random,
    intents: int = 2 * CLIENTS,
    *,
    spawn: bool = False,
    clients: int = CLIENTS,
) -> Trial:
    account = f"t{uuid.uuid4().hex[:10]}"
    db = workdir / f"{account}.db"
    seed = rng.randrange(1 << 30)
    base = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_CRASH")}
    crash_env = {**base, "ORDERGATE_CRASH_AT": label}
    crash_env["ORDERGATE_CRASH_SKIP"] = str(rng.randrange(intents))
    argv = ["--db", str(db), "--exchange", url, "--account", account]
    argv += ["--intents", str(intents), "--seed", str(seed), "--clients", str(clients)]
    code, _, err = _driver(argv, crash_env, spawn=spawn)
    crashed = code == -signal.SIGKILL
    if code not in (0, -signal.SIGKILL):
        raise RuntimeError(f"driver failed ({code}): {err[-2000:]}")
    code, summary, err = _driver(argv, base, spawn=spawn)
    if code != 0 or summary is None:
        raise RuntimeError(f"restart failed ({code}): {err[-2000:]}")
    trial = Trial(
        label=label,
        crashed=crashed,
        duplicates=0,
        lost=0,
        position_mismatches=0,
        outbox_problems=0,
        recovery_seconds=summary["recovery_seconds"],
        settled_seconds=summary["settled_seconds"],
    )
    check(url, db, account, intents, trial)
    return trial


def check(url: str, db: Path, account: str, intents: int, trial: Trial) -> None:
    """Compare the engine's store with the exchange, exactly."""
    adapter = ExchangeBroker(url, stream=False, account_id=account)
    venue = adapter.fetch_all_orders()
    counts = Counter(o.client_order_id for o in venue)
    trial.duplicates = sum(n - 1 for n in counts.values())
    by_cid = {o.client_order_id: o for o in venue}
    store = SqliteStore(db)
    try:
        ours: set[str] = set()
        for i in range(intents):
            cid = client_order_id_for(account, f"{account}-{i}")
            ours.add(cid)
            order = store.order_by_client_id(cid)
            theirs = by_cid.get(cid)
            if order is None:
                trial.lost += 1
                trial.problems.append(f"intent {i}: no order in the store")
                continue
            if theirs is None:
                if order.status not in (OrderStatus.REJECTED, OrderStatus.FAILED):
                    trial.lost += 1
                    trial.problems.append(f"intent {i}: {order.status} here, none at exchange")
                continue
            if theirs.status is not order.status:
                trial.lost += 1
                trial.problems.append(f"intent {i}: {order.status} here, {theirs.status} there")
            mine = {
                (f.exec_id, f.last_qty, f.last_px, f.commission)
                for f in store.fills_for(order.order_id)
            }
            venue_fills = {
                (e.exec_id, e.last_qty, e.last_px, e.commission) for e in theirs.executions
            }
            if mine != venue_fills:
                trial.lost += 1
                trial.problems.append(f"intent {i}: fills differ: {mine} vs {venue_fills}")
        orphans = set(counts) - ours
        trial.lost += len(orphans)
        trial.problems += [f"exchange order {cid} unknown to the store" for cid in orphans]
        positions = {(p.symbol, p.qty, p.avg_price) for p in store.positions(account) if p.qty != 0}
        venue_positions = {(p.symbol, p.qty, p.avg_price) for p in adapter.fetch_positions()}
        if positions != venue_positions:
            trial.position_mismatches += 1
            trial.problems.append(f"positions {positions} vs {venue_positions}")
        check_outbox(db, trial)
    finally:
        store.close()


def check_outbox(db: Path, trial: Trial) -> None:
    """Every event in the outbox exactly once, in chain order: the chain verifies (no
    gap, no fork, each event hashed on the one before), each execution is reported
    once, and each order reaches its final state once."""
    conn = sqlite3.connect(db)
    try:
        result = verify_chain(conn)
        if not result.ok:
            trial.outbox_problems += 1
            trial.problems.append(f"the event chain does not verify: {result}")
        seqs = [r[0] for r in conn.execute("SELECT seq FROM order_events ORDER BY seq")]
        if seqs and seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            trial.outbox_problems += 1
            trial.problems.append("the outbox has a gap")
        rows = conn.execute(
            "SELECT order_id, topic, from_status, to_status, payload FROM order_events "
            "WHERE order_id IS NOT NULL ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()
    executions: Counter[tuple[str, str]] = Counter()
    finals: Counter[str] = Counter()
    for order_id, topic, from_status, to_status, payload in rows:
        if topic == EXECUTION_REPORT_TOPIC:
            executions[(order_id, json.loads(payload)["fill"]["exec_id"])] += 1
        elif from_status != to_status and OrderStatus(to_status).is_terminal:
            finals[order_id] += 1
    repeated = [k for k, n in executions.items() if n > 1] + [k for k, n in finals.items() if n > 1]
    if repeated:
        trial.outbox_problems += len(repeated)
        trial.problems.append(f"events told twice: {repeated[:3]}")


def run_sweep(
    trials_per_label: int,
    workdir: Path,
    seed: int = 7,
    *,
    spawn: bool = False,
    clients: int = CLIENTS,
) -> dict[str, Any]:
    rng = random.Random(seed)
    results: list[Trial] = []
    started = time.perf_counter()
    with exchange_process(workdir) as url:
        for label in LABELS + GROUP_LABELS:
            for _ in range(trials_per_label):
                results.append(
                    run_trial(url, workdir, label, rng, 2 * clients, spawn=spawn, clients=clients)
                )
    recovery = sorted(t.recovery_seconds for t in results)
    return {
        "mode": "spawn" if spawn else "fork",
        "clients": clients,
        "trials": len(results),
        "trials_per_label": trials_per_label,
        "crashed": sum(t.crashed for t in results),
        "crashed_by_label": {
            label: sum(t.crashed for t in results if t.label == label)
            for label in LABELS + GROUP_LABELS
        },
        "duplicates": sum(t.duplicates for t in results),
        "lost": sum(t.lost for t in results),
        "position_mismatches": sum(t.position_mismatches for t in results),
        "outbox_problems": sum(t.outbox_problems for t in results),
        "recovery_seconds": {
            "median": recovery[len(recovery) // 2],
            "max": recovery[-1],
        },
        "settled_seconds_max": max(t.settled_seconds for t in results),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "problems": [p for t in results for p in t.problems][:20],
    }
