"""The two-process SIGKILL sweep on PostgreSQL (issue 24's "must show").

One simulated exchange process (``dedupe=false``: it witnesses every submit, and a
second submit of one client order id opens a second order) and one PostgreSQL schema.
A trial, on a fresh exchange account:

1. forks two engine processes (``pg_driver.py``) that send the *same* intents, in
   opposite orders, all at once behind a rate limit of 3 sends/s — every key is created
   by one and replayed by the other, often while its send waits or is in flight (B
   starts at once or half a second late). Process A dies by SIGKILL at the trial's
   step of the submit path (its n-th pass, n random), or lives (label ``none``); its
   clock is ``offset_s`` off (the other's is right);
2. B takes A's orders over once their leases run out and settles them; when both have
   ended, this process settles what is left (as a restarted ``serve`` would);
3. checks, against the exchange, exactly: *duplicates* (a client order id with two
   orders there), *lost* (an intent without an order here, a status or fills that
   differ from the exchange's, an exchange order unknown here, open orders left),
   *nothing sent* (an answer ``E_EXEC_PERSISTENCE`` — "nothing was sent" — for an order
   the exchange has) and positions equal to the exchange's in Decimal.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import ExecutionEngine, client_order_id_for
from ordergate.engine.ownership import Ownership
from ordergate.store.leases import leases_for
from tests.crash.sweep import LABELS

TTL_MS = 1200
#: every step of the submit path, and a trial where both processes live to the end
SWEEP_LABELS = (*LABELS, "none")


@dataclass
class PgTrial:
    label: str
    offset_s: float
    crashed: bool
    duplicates: int = 0
    lost: int = 0
    nothing_sent: int = 0
    position_mismatches: int = 0
    answers: int = 0
    problems: list[str] = field(default_factory=list)


def _fork(argv: list[str], env: dict[str, str]) -> tuple[int, int]:
    """Run ``pg_driver.run(argv)`` in a forked child; (pid, the read end of its output)."""
    from tests.scale import pg_driver

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the engine process
        code = 1
        try:
            os.close(read_fd)
            os.environ.clear()
            os.environ.update(env)
            with os.fdopen(write_fd, "w") as out:
                summary = pg_driver.run(argv, out)
                out.write(json.dumps({"summary": summary}) + "\n")
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def _wait(pid: int, read_fd: int, timeout: float) -> tuple[int, list[dict[str, Any]]]:
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    os.set_blocking(read_fd, False)
    while True:
        try:
            while data := os.read(read_fd, 65536):
                chunks.append(data)
        except BlockingIOError:
            pass
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise RuntimeError("an engine process hung")
        time.sleep(0.02)
    os.set_blocking(read_fd, True)
    with os.fdopen(read_fd, "rb") as pipe:
        chunks.append(pipe.read())
    lines = [json.loads(x) for x in b"".join(chunks).decode().splitlines() if x.strip()]
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return code, lines


def settle(pg_url: str, exchange_url: str, account: str, timeout_s: float = 30) -> int:
    """What a restarted process does: take over every orphan, follow it to its end."""
    from ordergate.store.postgres import PostgresStore

    store = PostgresStore(pg_url, min_size=1, max_size=2)
    broker = ExchangeBroker(
        exchange_url,
        stream=False,
        dedupes_client_order_id=False,
        lookup_miss_conclusive=True,  # as the driver: the exchange's misses prove absence
        account_id=account,
    )
    engine = ExecutionEngine(store, broker)
    own = Ownership(engine, leases_for(store, f"settler-{account}"), timedelta(milliseconds=TTL_MS))
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            left = [o for o in store.open_orders() if o.account_id == account]
            if not left:
                return 0
            own.heartbeat(force=True)
            for order in left:
                if own.owns(order.order_id) and order.status is not OrderStatus.PENDING:
                    view = broker.fetch_order(order.client_order_id)
                    if view is not None:
                        engine.on_broker_update(view)
            time.sleep(0.1)
        return len([o for o in store.open_orders() if o.account_id == account])
    finally:
        own.stop()
        broker.close()
        store.close()


def run_trial(
    pg_url: str,
    exchange_url: str,
    label: str,
    rng: random.Random,
    *,
    offset_s: float = 0.0,
    intents: int = 10,
) -> PgTrial:
    account = f"s{uuid.uuid4().hex[:10]}"
    seed = rng.randrange(1 << 30)
    base = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGATE_CRASH")}
    crash = {**base, "ORDERGATE_CRASH_AT": label, "ORDERGATE_CRASH_SKIP": str(rng.randrange(3))}
    argv = ["--db", pg_url, "--exchange", exchange_url, "--account", account]
    argv += ["--intents", str(intents), "--seed", str(seed), "--ttl-ms", str(TTL_MS)]
    a = _fork([*argv, "--owner", "proc-a", "--clock-offset-s", str(offset_s)], crash)
    delay = rng.choice(("0", "0.5"))  # B races A to create, or mostly replays A's sends
    b = _fork([*argv, "--owner", "proc-b", "--reverse", "--start-delay-s", delay], base)
    code_a, lines_a = _wait(*a, timeout=90)
    code_b, lines_b = _wait(*b, timeout=90)
    if code_a not in (0, -signal.SIGKILL) or code_b != 0:
        raise RuntimeError(f"an engine process failed: A {code_a}, B {code_b}")
    trial = PgTrial(label=label, offset_s=offset_s, crashed=code_a == -signal.SIGKILL)
    left = settle(pg_url, exchange_url, account)
    if left:
        trial.lost += left
        trial.problems.append(f"{left} order(s) still open after settling")
    answers = [x for x in lines_a + lines_b if "key" in x]
    trial.answers = len(answers)
    check(pg_url, exchange_url, account, intents, answers, trial)
    return trial


def check(
    pg_url: str,
    exchange_url: str,
    account: str,
    intents: int,
    answers: list[dict[str, Any]],
    trial: PgTrial,
) -> None:
    from ordergate.store.postgres import PostgresStore

    adapter = ExchangeBroker(exchange_url, stream=False, account_id=account)
    venue = adapter.fetch_all_orders()
    counts = Counter(o.client_order_id for o in venue)
    trial.duplicates = sum(n - 1 for n in counts.values())
    trial.problems += [f"{cid} sent {n} times" for cid, n in counts.items() if n > 1]
    by_cid = {o.client_order_id: o for o in venue}
    for answer in answers:
        cid = client_order_id_for(account, answer["key"])
        if answer.get("error") == "E_EXEC_PERSISTENCE" and cid in by_cid:
            trial.nothing_sent += 1
            trial.problems.append(f"{answer['key']}: 'nothing was sent', yet it was placed")
    store = PostgresStore(pg_url, min_size=1, max_size=2)
    try:
        ours: set[str] = set()
        for i in range(intents):
            cid = client_order_id_for(account, f"{account}-{i}")
            ours.add(cid)
            order = store.order_by_client_id(cid)
            theirs = by_cid.get(cid)
            if order is None:
                if theirs is not None:
                    trial.lost += 1
                    trial.problems.append(f"intent {i}: at the exchange, not in the store")
                continue  # never committed (killed before the intent's commit)
            if theirs is None:
                if order.status not in (OrderStatus.REJECTED, OrderStatus.FAILED):
                    trial.lost += 1
                    trial.problems.append(f"intent {i}: {order.status} here, none there")
                continue
            if theirs.status is not order.status:
                trial.lost += 1
                trial.problems.append(f"intent {i}: {order.status} here, {theirs.status} there")
            mine = {(f.exec_id, f.last_qty, f.last_px) for f in store.fills_for(order.order_id)}
            there = {(e.exec_id, e.last_qty, e.last_px) for e in theirs.executions}
            if mine != there:
                trial.lost += 1
                trial.problems.append(f"intent {i}: fills differ")
        strangers = set(counts) - ours
        trial.lost += len(strangers)
        trial.problems += [f"exchange order {cid} unknown to the store" for cid in strangers]
        positions = {(p.symbol, p.qty, p.avg_price) for p in store.positions(account) if p.qty}
        venue_positions = {(p.symbol, p.qty, p.avg_price) for p in adapter.fetch_positions()}
        if positions != venue_positions:
            trial.position_mismatches += 1
            trial.problems.append(f"positions {positions} vs {venue_positions}")
    finally:
        store.close()
        adapter.close()


def run_sweep(
    pg_url: str,
    exchange_url: str,
    trials_per_label: int,
    offsets: tuple[float, ...],
    seed: int = 11,
) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.perf_counter()
    results = [
        run_trial(pg_url, exchange_url, label, rng, offset_s=offset)
        for offset in offsets
        for label in SWEEP_LABELS
        for _ in range(trials_per_label)
    ]
    return {
        "trials": len(results),
        "offsets_s": list(offsets),
        "crashed": sum(t.crashed for t in results),
        "crashed_by_label": {
            label: sum(t.crashed for t in results if t.label == label) for label in SWEEP_LABELS
        },
        "answers": sum(t.answers for t in results),
        "duplicates": sum(t.duplicates for t in results),
        "lost": sum(t.lost for t in results),
        "nothing_sent": sum(t.nothing_sent for t in results),
        "position_mismatches": sum(t.position_mismatches for t in results),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "problems": [f"{t.label}/{t.offset_s}: {p}" for t in results for p in t.problems][:30],
    }
