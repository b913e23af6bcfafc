"""One engine process for the scale tests (run as a script, killed at will).

``submit``: submit market intents ``key-0 .. key-<n-1>`` and print one JSON line per
intent: key, order id, replayed, status.
``rest``: submit limit buys far below the market (they rest at the paper broker, whose
book is a file shared with the other process), lease them, print ``READY`` and keep the
leases alive on a heartbeat until killed.
``slow``: one market intent ``slow-0`` through an engine with ownership (the fenced
broker path), at a paper broker that takes ``--delay-ms`` to answer; prints ``SENDING``
when the call has reached the broker, then the report as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta

from ordergate.brokers.base import BrokerOrder, OrderRequest
from ordergate.brokers.paper import PaperBroker
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.ownership import Ownership
from ordergate.store.leases import leases_for
from ordergate.store.postgres import PostgresStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["submit", "rest", "slow"])
    parser.add_argument("--delay-ms", type=int, default=1000)
    parser.add_argument("--db", required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--owner", default="worker")
    parser.add_argument("--state-file", default=None)
    parser.add_argument("--ttl-ms", type=int, default=1000)
    args = parser.parse_args()

    store = PostgresStore(args.db, min_size=1, max_size=2)
    if args.mode == "slow":
        slow(store, args.delay_ms / 1000)
        return
    engine = ExecutionEngine(store, PaperBroker(state_file=args.state_file))
    if args.mode == "submit":
        engine.mark("AAPL", "150.00")
        for i in range(args.count):
            report = engine.submit(
                {"symbol": "AAPL", "side": "buy", "qty": "1", "idempotency_key": f"key-{i}"}
            )
            line = {
                "key": f"key-{i}",
                "order_id": report.order_id,
                "replayed": report.replayed,
                "status": report.status.value,
            }
            print(json.dumps(line), flush=True)
        store.close()
        return

    leases = leases_for(store, args.owner)
    ttl = timedelta(milliseconds=args.ttl_ms)
    engine.mark("AAPL", "150.00")
    ids = []
    for i in range(args.count):
        intent = {
            "symbol": "AAPL",
            "side": "buy",
            "qty": "5",
            "order_type": "limit",
            "limit_price": "100.00",
            "time_in_force": "gtc",
            "idempotency_key": f"rest-{i}",
        }
        report = engine.submit(intent)
        ids.append(report.order_id)
        leases.claim([report.order_id], ttl)
    print("READY", json.dumps(ids), flush=True)
    while True:
        time.sleep(ttl.total_seconds() / 4)
        leases.renew(ttl)
        sys.stdout.flush()


class SlowPaper(PaperBroker):
    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s

    def submit(self, request: OrderRequest) -> BrokerOrder:
        print("SENDING", flush=True)
        time.sleep(self.delay_s)
        return super().submit(request)


def slow(store: PostgresStore, delay_s: float) -> None:
    engine = ExecutionEngine(store, SlowPaper(delay_s))
    Ownership(engine, leases_for(store, "slow-worker"), timedelta(seconds=10))
    engine.mark("AAPL", "150.00")
    report = engine.submit(
        {"symbol": "AAPL", "side": "buy", "qty": "1", "idempotency_key": "slow-0"}
    )
    print(json.dumps({"order_id": report.order_id, "status": report.status.value}), flush=True)
    store.close()


if __name__ == "__main__":
    main()
