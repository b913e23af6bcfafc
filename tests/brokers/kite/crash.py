"""The crash sweep with the Kite adapter: SIGKILL the engine at every step of the
submit path, restart, recover, compare with the fake Kite, exactly.

The fake runs in this (the parent) process, so it keeps its books while the engine, a
forked child, dies. Kite dedupes nothing and its look-up misses prove nothing, so an
order the engine marked SUBMITTED and died before sending can never be re-placed: it
ends *unknown* (reported for a person), which the sweep counts apart from *lost*.

- duplicates: more than one Kite order carries one tag;
- lost: an intent with no order in the store; a store order whose status or fills
  differ from Kite's; a Kite order unknown to the store; a SUBMITTED order left
  unknown although Kite has it;
- unknown: SUBMITTED, not at Kite (never sent), left for a person — never re-placed.
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
from pathlib import Path
from typing import Any

import structlog

from ordergate.brokers.kite.tags import client_id_for_tag
from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import ExecutionEngine, client_order_id_for
from ordergate.engine.recovery import recover
from ordergate.resilience.crashpoint import crashpoint
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.sqlite import SqliteStore
from tests.brokers.kite.fake_kite import FakeKite
from tests.brokers.kite.kit import make_adapter
from tests.crash.driver import CrashingStore
from tests.crash.sweep import LABELS


def _life(fake: FakeKite, db: str, account: str, count: int, seed: int) -> dict[str, Any]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    store = CrashingStore(db)
    store.migrate()
    broker = make_adapter(fake, timeout=2.0)
    engine = ExecutionEngine(store, broker, retry=RetryPolicy(max_retries=2, base_delay=0.01))
    started = time.perf_counter()
    report = recover(engine)
    rng = random.Random(seed)
    for i in range(count):
        engine.submit(
            {
                "idempotency_key": f"{account}-{i}",
                "account_id": account,
                "symbol": rng.choice(("INFY", "TCS")),
                "side": rng.choice(("BUY", "SELL")),
                "qty": str(rng.randint(1, 20)),
            }
        )
        crashpoint("after_receipt_persisted")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        open_ = [o for o in store.open_orders() if o.status is not OrderStatus.SUBMITTED]
        if not open_:
            break
        engine.sync_broker_state()
        time.sleep(0.03)
    broker.close()
    store.close()
    return {"recovery": report.to_dict(), "seconds": time.perf_counter() - started}


def _fork(fake: FakeKite, env: dict[str, str], *args: Any) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.environ.update(env)
            _life(fake, *args)
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def run_trial(
    fake: FakeKite, workdir: Path, label: str, rng: random.Random, intents: int = 4
) -> dict[str, Any]:
    account = f"k{uuid.uuid4().hex[:10]}"
    db = str(workdir / f"{account}.db")
    seed = rng.randrange(1 << 30)
    before = {o["order_id"] for o in fake.all_orders()}
    crash_env = {"ORDERGATE_CRASH_AT": label, "ORDERGATE_CRASH_SKIP": str(rng.randrange(intents))}
    code = _fork(fake, crash_env, db, account, intents, seed)
    if code not in (0, -signal.SIGKILL):
        raise RuntimeError(f"engine life failed ({code})")
    crashed = code == -signal.SIGKILL
    calm = {"ORDERGATE_CRASH_AT": "", "ORDERGATE_CRASH_SKIP": "0"}
    if _fork(fake, calm, db, account, intents, seed) != 0:
        raise RuntimeError("restart failed")
    ours = {client_order_id_for(account, f"{account}-{i}") for i in range(intents)}
    rows = [o for o in fake.all_orders() if o["order_id"] not in before]
    tags = Counter(client_id_for_tag(o.get("tag")) for o in rows)
    result = {
        "label": label,
        "crashed": crashed,
        "duplicates": 0,
        "lost": 0,
        "unknown": 0,
        "problems": [],
    }
    result["duplicates"] = sum(n - 1 for cid, n in tags.items() if cid is not None)
    orphans = set(tags) - ours
    result["lost"] += len(orphans)
    store = SqliteStore(db)
    try:
        by_cid = {client_id_for_tag(o.get("tag")): o for o in rows}
        for cid in ours:
            order = store.order_by_client_id(cid)
            theirs = by_cid.get(cid)
            if order is None:
                result["lost"] += 1
                result["problems"].append(f"{cid}: no order in the store")
            elif theirs is None:
                if order.status is OrderStatus.SUBMITTED:
                    result["unknown"] += 1
                elif order.status not in (OrderStatus.REJECTED, OrderStatus.FAILED):
                    result["lost"] += 1
                    result["problems"].append(f"{cid}: {order.status} here, none at Kite")
            else:
                filled = sum(
                    int(t["quantity"]) for t in fake.trades if t["order_id"] == theirs["order_id"]
                )
                if order.status is not OrderStatus.FILLED or order.filled_qty != filled:
                    result["lost"] += 1
                    result["problems"].append(
                        f"{cid}: {order.status} {order.filled_qty} here, "
                        f"{theirs['status']} {filled} at Kite"
                    )
    finally:
        store.close()
    return result


def run_sweep(trials_per_label: int, workdir: Path, seed: int = 7) -> dict[str, Any]:
    fake = FakeKite()
    fake.add_instrument("NSE:INFY", "1500")
    fake.add_instrument("NSE:TCS", "3500")
    fake.start()
    rng = random.Random(seed)
    started = time.perf_counter()
    results = []
    try:
        for label in LABELS:
            for _ in range(trials_per_label):
                results.append(run_trial(fake, workdir, label, rng))
    finally:
        fake.stop()
    return {
        "adapter": "kite",
        "trials": len(results),
        "trials_per_label": trials_per_label,
        "crashed_by_label": {
            label: sum(r["crashed"] for r in results if r["label"] == label) for label in LABELS
        },
        "duplicates": sum(r["duplicates"] for r in results),
        "lost": sum(r["lost"] for r in results),
        "unknown_reported": sum(r["unknown"] for r in results),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "problems": [p for r in results for p in r["problems"]][:20],
    }


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        print(
            json.dumps(run_sweep(int(sys.argv[1]) if len(sys.argv) > 1 else 2, Path(d)), indent=2)
        )
