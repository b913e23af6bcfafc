"""The crash sweep with the ``ibkr`` adapter: SIGKILL at every step of the submit path.

IB dedupes nothing by ``orderRef``, so this is the test that matters most: a blind
resend would open a second order. Per trial, on a fresh fake TWS (in this process,
so it outlives the engine) and a fresh engine database:

1. the engine (``run_engine``, a forked child) recovers, submits the same intents and
   settles — with ``ORDERGATE_CRASH_AT=<label>`` it dies by SIGKILL at that step, at a
   random pass;
2. it runs again without a crash: recovery, then the same intents again;
3. checks against the fake's book: at most one IB order per ``orderRef``
   (*duplicates*); every intent ended as IB has it, with the same executions and
   commissions, and no IB order unknown to the store (*lost*); positions equal,
   exactly, in Decimal (*position mismatches*).

Used by ``test_crash_ibkr.py`` (a few trials) and ``bench/bench_crash_ibkr.py`` (200).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog

from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import client_order_id_for
from ordergate.store.sqlite import SqliteStore
from tests.brokers.ibkr.fake_tws import FakeTws
from tests.crash.sweep import LABELS, _fork_driver

IB_STATUS = {
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED,
    "Inactive": OrderStatus.REJECTED,
}


def run_engine(argv: list[str]) -> dict[str, Any]:
    """One life of the engine against the fake TWS at ``--port`` (in the child)."""
    import argparse

    from ordergate.brokers.ibkr.adapter import IbkrBroker
    from ordergate.brokers.ibkr.settings import IbkrSettings
    from ordergate.engine.engine import ExecutionEngine
    from ordergate.engine.recovery import recover
    from ordergate.resilience.crashpoint import crashpoint
    from ordergate.resilience.retry import RetryPolicy
    from tests.crash.driver import CrashingStore, intents

    parser = argparse.ArgumentParser()
    for name in ("--db", "--account"):
        parser.add_argument(name, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--intents", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    started = time.perf_counter()
    store = CrashingStore(args.db)
    store.migrate()
    block = IbkrSettings(
        port=args.port,
        client_id=3,
        account="DU7654321",
        ids_file=Path(args.db + ".ids"),
        commission_wait_s=2.0,
        reconnect_s=0.1,
        connect_timeout_s=5.0,
    )
    broker = IbkrBroker(
        block, account_label=args.account, timeout=2.0, ids_file=Path(args.db + ".ids")
    )
    engine = ExecutionEngine(store, broker, retry=RetryPolicy(max_retries=2, base_delay=0.01))
    recovery = recover(engine)
    recovered_at = time.perf_counter()
    for intent, _ in intents(args.account, args.intents, args.seed):
        engine.submit(intent)
        crashpoint("after_receipt_persisted")
    deadline = time.monotonic() + 15
    while store.open_orders() and time.monotonic() < deadline:
        time.sleep(0.05)
        engine.sync_broker_state()
    broker.close()
    summary = {
        "recovery": recovery.to_dict(),
        "recovery_seconds": recovered_at - started,
        "settled_seconds": time.perf_counter() - started,
        "open": len(store.open_orders()),
    }
    store.close()
    return summary


@dataclass
class Trial:
    label: str
    crashed: bool
    duplicates: int = 0
    lost: int = 0
    position_mismatches: int = 0
    recovery_seconds: float = 0.0
    settled_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def _life(argv: list[str], env: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
    from tests.crash import driver

    real, driver.run = driver.run, run_engine  # _fork_driver runs driver.run in the child
    try:
        code, summary, _ = _fork_driver(argv, env, 60)
    finally:
        driver.run = real
    return code, summary


def run_trial(workdir: Path, label: str, rng: random.Random, intents: int = 4) -> Trial:
    tws = FakeTws().start()
    tws.random_parts = random.Random(rng.randrange(1 << 30))
    try:
        account = f"t{uuid.uuid4().hex[:10]}"
        db = workdir / f"{account}.db"
        base = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_CRASH")}
        env = {
            **base,
            "ORDERGATE_CRASH_AT": label,
            "ORDERGATE_CRASH_SKIP": str(rng.randrange(intents)),
        }
        argv = ["--db", str(db), "--port", str(tws.port), "--account", account]
        argv += ["--intents", str(intents), "--seed", str(rng.randrange(1 << 30))]
        code, _ = _life(argv, env)
        if code not in (0, -signal.SIGKILL):
            raise RuntimeError(f"the engine failed ({code}) at {label}")
        trial = Trial(label=label, crashed=code == -signal.SIGKILL)
        code, summary = _life(argv, base)
        if code != 0 or summary is None:
            raise RuntimeError(f"the restart failed ({code}) after {label}")
        trial.recovery_seconds = summary["recovery_seconds"]
        trial.settled_seconds = summary["settled_seconds"]
        check(tws, db, account, intents, trial)
        return trial
    finally:
        tws.stop()


def check(tws: FakeTws, db: Path, account: str, intents: int, trial: Trial) -> None:
    """The store against the fake's book, exactly."""
    with tws.lock:
        book = [o for o in tws.orders.values() if o.view.order_ref]
        theirs_positions = {
            (symbol, qty, cost) for (_, symbol), (qty, cost) in tws.positions.items() if qty
        }
    counts = Counter(o.view.order_ref for o in book)
    trial.duplicates = sum(n - 1 for n in counts.values())
    by_ref = {o.view.order_ref: o for o in book}
    store = SqliteStore(db)
    try:
        ours: set[str] = set()
        for i in range(intents):
            cid = client_order_id_for(account, f"{account}-{i}")
            ours.add(cid)
            order = store.order_by_client_id(cid)
            theirs = by_ref.get(cid)
            if order is None:
                trial.lost += 1
                trial.problems.append(f"intent {i}: no order in the store")
                continue
            if theirs is None:
                if order.status not in (OrderStatus.REJECTED, OrderStatus.FAILED):
                    trial.lost += 1
                    trial.problems.append(f"intent {i}: {order.status} here, none at IB")
                continue
            if IB_STATUS.get(theirs.view.status) is not order.status:
                trial.lost += 1
                trial.problems.append(
                    f"intent {i}: {order.status} here, {theirs.view.status} at IB"
                )
            mine = {
                (f.exec_id, f.last_qty, f.last_px, f.commission)
                for f in store.fills_for(order.order_id)
            }
            at_ib = {(e, q, p, theirs.commission[e]) for e, q, p, _ in theirs.executions}
            if mine != at_ib:
                trial.lost += 1
                trial.problems.append(f"intent {i}: fills differ: {mine} vs {at_ib}")
        orphans = set(counts) - ours
        trial.lost += len(orphans)
        trial.problems += [f"IB order {cid} unknown to the store" for cid in orphans]
        positions = {(p.symbol, p.qty, p.avg_price) for p in store.positions(account) if p.qty != 0}
        if {(s, q) for s, q, _ in positions} != {
            (s, q) for s, q, _ in theirs_positions
        } or not _same_cost(positions, theirs_positions):
            trial.position_mismatches += 1
            trial.problems.append(f"positions {positions} vs {theirs_positions}")
    finally:
        store.close()


def _same_cost(
    ours: set[tuple[str, Decimal, Decimal]], theirs: set[tuple[str, Decimal, Decimal]]
) -> bool:
    cost = {s: c for s, _, c in theirs}
    return all(abs(c - cost[s]) <= abs(c) * Decimal("1e-20") for s, _, c in ours)


def run_sweep(trials_per_label: int, workdir: Path, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.perf_counter()
    results = [run_trial(workdir, label, rng) for label in LABELS for _ in range(trials_per_label)]
    recovery = sorted(t.recovery_seconds for t in results)
    return {
        "adapter": "ibkr",
        "trials": len(results),
        "trials_per_label": trials_per_label,
        "crashed": sum(t.crashed for t in results),
        "crashed_by_label": {
            label: sum(t.crashed for t in results if t.label == label) for label in LABELS
        },
        "duplicates": sum(t.duplicates for t in results),
        "lost": sum(t.lost for t in results),
        "position_mismatches": sum(t.position_mismatches for t in results),
        "recovery_seconds": {"median": recovery[len(recovery) // 2], "max": recovery[-1]},
        "settled_seconds_max": max(t.settled_seconds for t in results),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "problems": [p for t in results for p in t.problems][:20],
    }
