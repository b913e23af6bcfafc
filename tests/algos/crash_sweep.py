"""The SIGKILL sweep with a TWAP running (issue 18, must-show).

One exchange process (``dedupe=false``: a blind resend *would* open a second order)
serves every trial. A trial, on a fresh engine database and exchange account:

1. forks an engine process (:func:`engine_life`) that recovers, submits the same TWAP
   parent (the same key every life: a replay after a restart) and works it on the algo
   desk's own thread, children filling at the exchange, some in parts; the sweep kills
   it with SIGKILL at a random moment of its run;
2. runs it again without a kill: recovery, the same parent, until the parent ends;
3. checks against the exchange: no client order id twice (*duplicates*), no exchange
   order unknown to the store (*orphans*), what the exchange filled ≤ the parent's
   quantity (*overfills*), and the parent completed with all of it after the restart
   (*not resumed* otherwise); the store's fills equal the exchange's.

Used by ``tests/algos/test_algo_crash.py`` (a few trials) and ``bench/bench_crash_algo.py``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.engine.engine import ExecutionEngine, client_order_id_for
from ordergate.engine.recovery import recover
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.parents import SqliteParentBook
from ordergate.store.sqlite import SqliteStore
from tests.crash.sweep import exchange_process

QTY = Decimal(60)
SLICES = 12
HORIZON_S = 4.0
FAULTS = ("", "", "fill_parts=2", "fill_parts=3,part_gap_ms=20", "delay_fill_ms=30")


def parent_intent(account: str) -> dict[str, Any]:
    return {
        "idempotency_key": f"{account}-twap",
        "account_id": account,
        "symbol": "AAPL",
        "side": "BUY",
        "qty": str(QTY),
        "algo": {"kind": "twap", "horizon_s": HORIZON_S, "slices": SLICES},
    }


def engine_life(
    db: str, url: str, account: str, seed: int, ready: Callable[[], None] = lambda: None
) -> dict[str, Any]:
    """One life of the engine: recover, (re)submit the parent, work it until it ends.
    ``ready`` is called once the schema is migrated: the kill may come from then on (a
    kill inside yoyo's migration lock leaves the lock behind, which is not this test)."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    rng = random.Random(seed)
    store = SqliteStore(db)
    store.migrate()
    ready()
    broker = ExchangeBroker(
        url,
        timeout=2.0,
        dedupes_client_order_id=False,
        lookup_miss_conclusive=True,  # the exchange's book is durable: a miss is proof
        account_id=account,
        stream_wait=0.2,
    )
    engine = ExecutionEngine(store, broker, retry=RetryPolicy(max_retries=2, base_delay=0.01))
    recovery = recover(engine)
    report = engine.submit(parent_intent(account))
    parent_id = report.order_id
    deadline = time.monotonic() + HORIZON_S + 15
    status = ""
    while time.monotonic() < deadline:
        broker.inject("submit", rng.choice(FAULTS) or "delay_fill_ms=0")
        engine.algos.tick()
        view = engine.algos.view(parent_id)
        status = view["status"]
        if status in ("COMPLETED", "EXPIRED", "CANCELED", "REJECTED"):
            break
        if store.open_orders():
            engine.sync_broker_state()
        time.sleep(0.05)
    broker.close()
    store.close()
    return {"recovery": recovery.to_dict(), "status": status, "parent_id": parent_id}


def _fork(args: tuple[str, str, str, int], kill_after: float | None) -> tuple[bool, Any]:
    """Run one life in a forked process; SIGKILL it ``kill_after`` seconds after it has
    migrated its store."""
    read_fd, write_fd = os.pipe()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_fd)
            os.close(ready_r)
            summary = engine_life(*args, ready=lambda: os.write(ready_w, b"r") and None)
            os.write(write_fd, json.dumps(summary).encode())
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(write_fd)
    os.close(ready_w)
    os.set_blocking(ready_r, False)
    started = time.monotonic()
    ready_at: float | None = None
    killed = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if ready_at is None:
            try:
                if os.read(ready_r, 1):
                    ready_at = time.monotonic()
            except BlockingIOError:
                pass
        elapsed = time.monotonic() - started
        since_ready = None if ready_at is None else time.monotonic() - ready_at
        if (
            kill_after is not None
            and since_ready is not None
            and since_ready >= kill_after
            and not killed
        ):
            os.kill(pid, signal.SIGKILL)
            killed = True
        if elapsed > 60:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise RuntimeError("the engine process hung")
        time.sleep(0.005)
    os.close(ready_r)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    crashed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    if not crashed and os.WEXITSTATUS(status) != 0:
        raise RuntimeError(f"the engine process failed ({os.WEXITSTATUS(status)})")
    return crashed, (json.loads(data) if data else None)


@dataclass
class Trial:
    kill_after: float
    crashed: bool
    duplicates: int = 0
    orphans: int = 0
    overfilled: int = 0
    not_resumed: int = 0
    children: int = 0
    exchange_filled: str = "0"
    problems: list[str] = field(default_factory=list)


def run_trial(url: str, workdir: Path, rng: random.Random) -> Trial:
    account = f"a{uuid.uuid4().hex[:10]}"
    db = str(workdir / f"{account}.db")
    kill_after = rng.uniform(0.05, HORIZON_S * 0.7)
    args = (db, url, account, rng.randrange(1 << 30))
    crashed, _ = _fork(args, kill_after)
    _, summary = _fork(args, None)
    trial = Trial(kill_after=round(kill_after, 3), crashed=crashed)
    check(url, db, account, summary, trial)
    return trial


def check(url: str, db: str, account: str, summary: Any, trial: Trial) -> None:
    adapter = ExchangeBroker(url, stream=False, account_id=account)
    venue = adapter.fetch_all_orders()
    adapter.close()
    counts = Counter(o.client_order_id for o in venue)
    trial.duplicates = sum(n - 1 for n in counts.values())
    key = f"{account}-twap"
    ours = {client_order_id_for(account, f"{key}/slice-{n}") for n in range(1, 10 * SLICES)}
    trial.orphans = sum(1 for cid in counts if cid not in ours)
    filled = sum((o.filled_qty for o in venue), Decimal(0))
    trial.exchange_filled = str(filled)
    trial.children = len(counts)
    if filled > QTY:
        trial.overfilled = 1
        trial.problems.append(f"{account}: the exchange filled {filled} of {QTY}")
    [parent] = SqliteParentBook(db).latest()
    if summary is None or summary["status"] != "COMPLETED" or filled != QTY:
        trial.not_resumed = 1
        trial.problems.append(f"{account}: parent {parent.status} with {filled} filled")
    store = SqliteStore(db)
    try:
        mine = {(o.client_order_id, o.filled_qty) for o in store.open_orders()}
        stored = {
            o.client_order_id: o.filled_qty
            for o in (store.order_by_client_id(cid) for cid in counts)
            if o is not None
        }
        for o in venue:
            if stored.get(o.client_order_id) != o.filled_qty:
                trial.problems.append(f"{o.client_order_id}: fills differ")
        if mine:
            trial.problems.append(f"{account}: orders still open {mine}")
    finally:
        store.close()


def run_sweep(trials: int, workdir: Path, seed: int = 18) -> dict[str, Any]:
    rng = random.Random(seed)
    results: list[Trial] = []
    started = time.perf_counter()
    with exchange_process(workdir) as url:
        for _ in range(trials):
            results.append(run_trial(url, workdir, rng))
    return {
        "trials": len(results),
        "crashed": sum(t.crashed for t in results),
        "duplicates": sum(t.duplicates for t in results),
        "orphans": sum(t.orphans for t in results),
        "overfilled": sum(t.overfilled for t in results),
        "not_resumed": sum(t.not_resumed for t in results),
        "children_max": max(t.children for t in results),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "problems": [p for t in results for p in t.problems][:20],
    }
