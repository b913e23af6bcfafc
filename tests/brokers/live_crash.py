"""The crash sweep (``tests/crash``) against a live adapter and its in-process fake.

The fake runs in this (the test) process; each engine life is a forked child that
builds the adapter against the fake's URL, so SIGKILL at a submit-path step kills the
engine while the "broker" keeps its state, as a real one would. Each trial: a crashed
life, a clean life (recovery, then the same intents again), then the store is checked
against the fake: at most one broker order per intent (*duplicates*), every intent's
order in the broker's final state with the same executions (*lost*).
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from ordergate.brokers.base import BrokerAdapter
from ordergate.domain.enums import Side
from ordergate.domain.errors import BrokerError
from ordergate.domain.money import ZERO
from ordergate.engine.engine import ExecutionEngine, client_order_id_for
from ordergate.engine.recovery import recover
from ordergate.resilience.crashpoint import crashpoint
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.sqlite import SqliteStore
from tests.crash.driver import LABELS, CrashingStore

MakeBroker = Callable[[], BrokerAdapter]


def _life(make: MakeBroker, db: Path, account: str, intents: list[dict[str, Any]]) -> None:
    store = CrashingStore(db)
    store.migrate()
    broker = make()
    engine = ExecutionEngine(store, broker, retry=RetryPolicy(max_retries=2, base_delay=0.01))
    unknown = set(recover(engine).unknown)
    _ruled(db).write_text(json.dumps(sorted(unknown)))
    for intent in intents:
        engine.submit(intent)
        crashpoint("after_receipt_persisted")
    deadline = time.monotonic() + SETTLE_BOUND
    while _awaited(store, broker, unknown) and time.monotonic() < deadline:
        time.sleep(0.05)
        engine.sync_broker_state()
    close = getattr(broker, "close", None)
    if close is not None:
        close()  # first: its stream or poller writes through the engine
    store.close()


#: How long a life waits for its open orders to settle with the broker.
SETTLE_BOUND = 15.0


def _ruled(db: Path) -> Path:
    """Where a life notes the orders its recovery reported unknown."""
    return db.with_name(f"{db.name}.unknown.json")


def _awaited(store: SqliteStore, broker: BrokerAdapter, unknown: set[str]) -> bool:
    """Whether an open order may still change: any but those recovery ruled unknown
    (in flight at the crash, not found, not resendable) and the broker still does not
    show. Such an order waits for a person, not for time: tracking alone will not
    settle it, so the life does not wait out its bound for it; the moment the broker
    shows it, it is awaited again (tracking adopts it)."""
    for order in store.open_orders():
        if order.order_id not in unknown:
            return True
        try:
            if broker.fetch_order(order.client_order_id) is not None:
                return True
        except BrokerError:
            return True  # a failed look-up decides nothing
    return False


def _fork(fn: Callable[[], None], env: dict[str, str], timeout: float = 60) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.environ.update(env)
            fn()
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise RuntimeError("the engine process hung")
        time.sleep(0.01)


def run_sweep(
    make: MakeBroker,
    venue_count: Callable[[str], int],
    workdir: Path,
    *,
    account: str,
    symbol: str,
    qty: Callable[[random.Random], str],
    trials_per_label: int,
    intents: int = 3,
    seed: int = 7,
    labels: Sequence[str] = LABELS,
) -> dict[str, Any]:
    rng = random.Random(seed)
    result: dict[str, Any] = {
        "trials": 0,
        "crashed": Counter(),
        "duplicates": 0,
        "lost": 0,
        "position_mismatches": 0,
        "unknown": 0,
    }
    problems: list[str] = []
    for label in labels:
        for _ in range(trials_per_label):
            run = uuid.uuid4().hex[:8]
            batch = [
                {
                    "idempotency_key": f"{run}-{i}",
                    "account_id": account,
                    "symbol": symbol,
                    "side": rng.choice(("BUY", "SELL")),
                    "qty": qty(rng),
                }
                for i in range(intents)
            ]
            db = workdir / f"{run}.db"
            env = {"ORDERGATE_CRASH_AT": label, "ORDERGATE_CRASH_SKIP": str(rng.randrange(intents))}
            life = partial(_life, make, db, account, batch)
            code = _fork(life, env)
            if code not in (0, -signal.SIGKILL):
                raise RuntimeError(f"the engine failed ({code}) at {label}")
            result["crashed"][label] += code == -signal.SIGKILL
            clean = {"ORDERGATE_CRASH_AT": ""}
            if _fork(life, clean) != 0:
                raise RuntimeError(f"the restart failed after {label}")
            result["trials"] += 1
            unknown = set(json.loads(_ruled(db).read_text()))
            result["unknown"] += len(unknown)
            checker = make()
            store = SqliteStore(db)
            venue_net = ZERO
            try:
                for intent in batch:
                    cid = client_order_id_for(account, intent["idempotency_key"])
                    count = venue_count(cid)
                    result["duplicates"] += max(0, count - 1)
                    order = store.order_by_client_id(cid)
                    theirs = checker.fetch_order(cid)
                    if order is None or (theirs is None and count):
                        result["lost"] += 1
                        problems.append(f"{label}: {cid} missing")
                        continue
                    if theirs is None and order.is_open and order.order_id not in unknown:
                        # open here, nothing there, and recovery did not rule it unknown
                        result["lost"] += 1
                        problems.append(f"{label}: {cid} {order.status} here, none there")
                        continue
                    if theirs is not None:
                        fills = store.fills_for(order.order_id)
                        mine = {(f.exec_id, f.last_qty, f.last_px) for f in fills}
                        venue = {(e.exec_id, e.last_qty, e.last_px) for e in theirs.executions}
                        if theirs.status is not order.status or mine != venue:
                            result["lost"] += 1
                            problems.append(f"{label}: {cid} {order.status} vs {theirs.status}")
                        sign = 1 if theirs.side is Side.BUY else -1
                        venue_net += sign * sum((e.last_qty for e in theirs.executions), ZERO)
                ours = sum((p.qty for p in store.positions(account) if p.symbol == symbol), ZERO)
                if ours != venue_net:  # this trial's fills, booked here and there: exactly
                    result["position_mismatches"] += 1
                    problems.append(f"{label}: position {ours} here, {venue_net} there")
            finally:
                store.close()
                close = getattr(checker, "close", None)
                if close is not None:
                    close()
    result["crashed"] = dict(result["crashed"])
    result["problems"] = problems[:10]
    return result


def dumps(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, default=str)
