"""One engine process of the two-process sweep (``pg_sweep.py``), on PostgreSQL.

It is what ``ordergate serve`` runs, minus HTTP: an engine whose broker is the simulated
exchange (``dedupe=false``: a second submit of one client order id is a second order),
with ownership (the fenced send, the heartbeat and the takeover on their own threads)
and an order tracker. It takes over what a dead peer left, submits the run's intents
(the same keys as its peer, in its own order: replays at the same moment), prints one
JSON line per answer, then waits until no order of the account is open.

``ORDERGATE_CRASH_AT`` kills it with SIGKILL at a step of the submit path, as in the
crash sweep (``tests/crash/driver.py``): the store marks the commits, the exchange
adapter marks ``after_send`` and ``after_reply``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.domain.errors import OrderGateError
from ordergate.engine.engine import ExecutionEngine, client_order_id_for
from ordergate.engine.ownership import Ownership
from ordergate.engine.tracking import OrderTracker, TrackingConfig
from ordergate.resilience.crashpoint import crashpoint
from ordergate.resilience.policy import ResilienceConfig, build_call_policy
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.leases import leases_for
from ordergate.store.postgres import PostgresStore
from tests.crash.driver import _Spy, intents


class SkewedClock:
    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class CrashingStore(PostgresStore):
    """The PostgreSQL store with crash points around the commits that matter."""

    @contextmanager
    def transaction(self) -> Iterator[Any]:  # type: ignore[override]
        with super().transaction() as tx:
            spy = _Spy(tx)
            yield spy
            if spy.intent:
                crashpoint("before_intent_commit")
            if spy.fill:
                crashpoint("mid_fill")
        if spy.intent:
            crashpoint("after_intent_commit")


def open_orders(store: PostgresStore, account: str) -> int:
    return sum(1 for o in store.open_orders() if o.account_id == account)


def run(argv: list[str], out: Any = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--intents", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--owner", default=f"proc-{os.getpid()}")
    parser.add_argument("--clock-offset-s", type=float, default=0.0)
    parser.add_argument("--ttl-ms", type=int, default=1500)
    parser.add_argument("--reverse", action="store_true")
    parser.add_argument("--settle-s", type=float, default=20.0)
    parser.add_argument("--rps", type=int, default=3, help="the broker rate limit (0: none)")
    parser.add_argument("--start-delay-s", type=float, default=0.0, help="before submitting")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    store = CrashingStore(args.db, min_size=1, max_size=4)
    broker = ExchangeBroker(
        args.exchange,
        timeout=2.0,
        dedupes_client_order_id=False,
        # the exchange keeps its book durably and shows an order at once: a miss proves
        # it never arrived, so the resend rule lets recovery send it (it dedupes nothing)
        lookup_miss_conclusive=True,
        account_id=args.account,
        stream_wait=0.2,
    )
    engine = ExecutionEngine(
        store,
        broker,
        clock=SkewedClock(timedelta(seconds=args.clock_offset_s)),
        retry=RetryPolicy(max_retries=2, base_delay=0.01),
        call_policy=None
        if not args.rps
        else build_call_policy(
            broker.adapter_id,
            ResilienceConfig(
                timeout_ms=2000, requests_per_second=args.rps, max_orders_per_min=6000
            ),
        ),
    )
    ttl = timedelta(milliseconds=args.ttl_ms)
    ownership = Ownership(engine, leases_for(store, args.owner), ttl)
    ownership.heartbeat(force=True)  # a dead peer's orders, before new work
    tracker = OrderTracker(engine, TrackingConfig(poll_interval=0.05), ownership=ownership)
    tracker.start()
    time.sleep(args.start_delay_s)  # the peer creates first: this one replays, takes over
    plan = intents(args.account, args.intents, args.seed)
    if args.reverse:
        plan.reverse()
    printing = threading.Lock()

    def send(intent: dict[str, Any], fault: str) -> None:
        cid = client_order_id_for(args.account, intent["idempotency_key"])
        if fault and store.order_by_client_id(cid) is None:
            broker.inject("submit", fault)  # partial and late fills, as in the crash sweep
        line: dict[str, Any] = {"key": intent["idempotency_key"], "owner": args.owner}
        try:
            report = engine.submit(intent)
            line |= {"order_id": report.order_id, "status": report.status.value}
            line |= {"replayed": report.replayed, "code": report.error_code}
        except OrderGateError as exc:
            line |= {"error": exc.code.name, "message": exc.message}
        with printing:
            out.write(json.dumps(line) + "\n")
            out.flush()
        crashpoint("after_receipt_persisted")

    # all at once, as concurrent clients do: the later sends wait in the rate limit's queue
    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        for done in [pool.submit(send, intent, fault) for intent, fault in plan]:
            done.result()
    deadline = time.monotonic() + args.settle_s
    while open_orders(store, args.account) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = open_orders(store, args.account)
    tracker.stop()
    broker.close()
    store.close()
    return {"owner": args.owner, "open": left}


if __name__ == "__main__":
    print(json.dumps({"summary": run(sys.argv[1:])}))
