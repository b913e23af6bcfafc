"""The crash sweep over FIX: SIGKILL the engine at every step of the submit path.

The acceptor runs as its own process (``python -m ordergate.brokers.fix``),
keeping its book and writing it to a JSON file after every change; one FIX session
(its sequence numbers in a FileStore shared by every engine life, as in production)
serves every trial, each on its own account, engine database and journal. A trial:

1. runs the engine (forked from this process) with ``ORDERGATE_CRASH_AT=<label>``: it
   dies by SIGKILL at the n-th pass of that step;
2. runs it again: recovery, then the same intents again (same idempotency keys);
3. checks: one venue order per intent at most (*duplicates*); every intent's order
   in the state the venue has, with the same executions, and no venue order unknown to
   the store (*lost*); positions equal to the venue's, exactly (*position mismatches*).

The acceptor refuses a repeated ClOrdID for as long as it keeps the order, so the
adapter is configured ``dedupe=true`` and recovery resends what the venue never got.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog

from ordergate.brokers.fix.adapter import FixBroker
from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import ExecutionEngine, client_order_id_for
from ordergate.engine.recovery import recover
from ordergate.resilience.crashpoint import crashpoint
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.sqlite import SqliteStore
from tests.brokers.fix.kit import block, free_port
from tests.crash.driver import CrashingStore, intents

ROOT = Path(__file__).resolve().parents[3]
LABELS = (
    "before_intent_commit",
    "after_intent_commit",
    "after_send",
    "after_reply",
    "after_receipt_persisted",
    "mid_fill",
)
#: the venue's status codes (OrdStatus) as ours
STATUS = {"0": "ACCEPTED", "1": "PARTIALLY_FILLED", "2": "FILLED", "4": "CANCELED", "8": "REJECTED"}


@contextmanager
def acceptor_process(workdir: Path) -> Iterator[tuple[int, Path]]:
    port = free_port()
    state = workdir / "venue.json"
    cmd = [sys.executable, "-m", "ordergate.brokers.fix", "--port", str(port)]
    cmd += ["--directory", str(workdir / "acceptor"), "--state", str(state)]
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    errors = (workdir / "acceptor.log").open("w")
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=ROOT, env=env
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert json.loads(line)["listening"] == port
        yield port, state
    finally:
        if proc.stdout:
            proc.stdout.close()
        proc.kill()  # QuickFIX's stop is not needed: the process ends
        proc.wait(10)
        errors.close()


def life(workdir: Path, port: int, account: str, count: int, seed: int) -> dict[str, Any]:
    """One life of the engine over FIX: recover, submit, settle."""
    level = logging.DEBUG if os.environ.get("ORDERGATE_FIX_CRASH_DEBUG") else logging.CRITICAL
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    started = time.perf_counter()
    store = CrashingStore(workdir / f"{account}.db")
    store.migrate()
    broker = FixBroker(
        block(workdir, port).model_copy(
            update={"journal": workdir / f"{account}.journal", "account": account}
        ),
        timeout=2.0,
    )
    if not broker.start(10.0):
        raise RuntimeError(f"no logon ({workdir})")
    engine = ExecutionEngine(store, broker, retry=RetryPolicy(max_retries=2, base_delay=0.01))
    recovery = recover(engine)
    recovered_at = time.perf_counter()
    for intent, _ in intents(account, count, seed):
        engine.submit(intent)
        crashpoint("after_receipt_persisted")
    deadline = time.monotonic() + 15
    while store.open_orders() and time.monotonic() < deadline:
        time.sleep(0.03)
        engine.sync_broker_state()
    broker.close(force=True)
    summary = {
        "recovery": recovery.to_dict(),
        "recovery_seconds": recovered_at - started,
        "open": len(store.open_orders()),
    }
    store.close()
    return summary


def _fork(
    env: dict[str, str], *args: Any, timeout: float = 60
) -> tuple[int, dict[str, Any] | None]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_fd)
            os.environ.clear()
            os.environ.update(env)
            os.write(write_fd, json.dumps(life(*args)).encode())
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
            raise RuntimeError("the engine process hung")
        time.sleep(0.01)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return code, (json.loads(data) if code == 0 and data else None)


def check(state: Path, workdir: Path, account: str, count: int) -> dict[str, Any]:
    venue = [o for o in json.loads(state.read_text())["orders"] if o["account"] == account]
    roots = Counter(o["chain"][0] for o in venue)
    by_root = {o["chain"][0]: o for o in venue}
    problems: list[str] = []
    lost = 0
    store = SqliteStore(workdir / f"{account}.db")
    try:
        ours = set()
        for i in range(count):
            cid = client_order_id_for(account, f"{account}-{i}")
            ours.add(cid)
            order, theirs = store.order_by_client_id(cid), by_root.get(cid)
            if order is None:
                lost += 1
                problems.append(f"intent {i}: no order in the store")
                continue
            if theirs is None:
                if order.status not in (OrderStatus.REJECTED, OrderStatus.FAILED):
                    lost += 1
                    problems.append(f"intent {i}: {order.status} here, none at the venue")
                continue
            if STATUS.get(theirs["status"]) != order.status.value:
                lost += 1
                problems.append(f"intent {i}: {order.status} here, {theirs['status']} there")
            mine = {
                (f.exec_id.split(":")[-1], f.last_qty, f.last_px)
                for f in store.fills_for(order.order_id)
            }
            venue_fills = {
                (f["exec_id"], Decimal(f["qty"]), Decimal(f["px"])) for f in theirs["fills"]
            }
            if mine != venue_fills:
                lost += 1
                problems.append(f"intent {i}: fills differ: {mine} vs {venue_fills}")
        orphans = set(roots) - ours
        lost += len(orphans)
        problems += [f"venue order {cid} unknown to the store" for cid in orphans]
        positions = {(p.symbol, p.qty) for p in store.positions(account) if p.qty != 0}
        venue_positions: dict[str, Decimal] = {}
        for o in venue:
            for f in o["fills"]:
                sign = 1 if o["side"] == "1" else -1
                venue_positions[o["symbol"]] = venue_positions.get(
                    o["symbol"], Decimal(0)
                ) + sign * Decimal(f["qty"])
        mismatch = positions != {(s, q) for s, q in venue_positions.items() if q != 0}
        if mismatch:
            problems.append(f"positions {positions} vs {venue_positions}")
    finally:
        store.close()
    return {
        "duplicates": sum(n - 1 for n in roots.values()),
        "lost": lost,
        "position_mismatch": int(mismatch),
        "problems": problems,
    }


def run_sweep(
    trials_per_label: int, workdir: Path, seed: int = 7, count: int = 4
) -> dict[str, Any]:
    rng = random.Random(seed)
    base = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_CRASH")}
    totals = {"duplicates": 0, "lost": 0, "position_mismatches": 0}
    crashed = dict.fromkeys(LABELS, 0)
    problems: list[str] = []
    recovery: list[float] = []
    started = time.perf_counter()
    with acceptor_process(workdir) as (port, state):
        for label in LABELS:
            for _ in range(trials_per_label):
                account = f"t{uuid.uuid4().hex[:10]}"
                trial_seed = rng.randrange(1 << 30)
                env = {**base, "ORDERGATE_CRASH_AT": label}
                env["ORDERGATE_CRASH_SKIP"] = str(rng.randrange(count))
                code, _ = _fork(env, workdir, port, account, count, trial_seed)
                if code not in (0, -signal.SIGKILL):
                    raise RuntimeError(f"the engine failed ({code}) at {label}")
                crashed[label] += code == -signal.SIGKILL
                code, summary = _fork(base, workdir, port, account, count, trial_seed)
                if code != 0 or summary is None:
                    raise RuntimeError(f"the restart failed ({code}) after {label}")
                recovery.append(summary["recovery_seconds"])
                result = check(state, workdir, account, count)
                totals["duplicates"] += result["duplicates"]
                totals["lost"] += result["lost"]
                totals["position_mismatches"] += result["position_mismatch"]
                problems += [f"{label}: {p}" for p in result["problems"]]
    recovery.sort()
    return {
        "broker": "fix (QuickFIX acceptor process)",
        "trials": trials_per_label * len(LABELS),
        "trials_per_label": trials_per_label,
        "crashed_by_label": crashed,
        **totals,
        "recovery_seconds": {"median": recovery[len(recovery) // 2], "max": recovery[-1]},
        "wall_seconds": round(time.perf_counter() - started, 2),
        "problems": problems[:20],
    }
