"""One engine process writing one account's orders to a partitioned chain (a test's
worker): ``partition_worker.py URL ACCOUNT COUNT CHECKPOINT START_AT``.

It waits until ``START_AT`` (epoch seconds) so that two workers write at the same time,
submits ``COUNT`` market orders on ``ACCOUNT`` and prints one JSON line: the orders,
the head refusals its store counted, its round trips.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    url, account, count, checkpoint, start_at = sys.argv[1:6]
    from ordergate.brokers.paper import PaperBroker
    from ordergate.engine.engine import ExecutionEngine
    from ordergate.store.checkpoint import AuditTrail, Checkpoint
    from ordergate.store.postgres import PostgresStore
    from tests.obs.chainkit import KEY

    trail = AuditTrail(KEY, Checkpoint(Path(checkpoint), KEY, "partitions"))
    store = PostgresStore(url, min_size=1, max_size=2, audit=trail)
    engine = ExecutionEngine(store, PaperBroker())
    engine.mark("AAPL", "100")  # warms the pool, the belief of partition 0
    time.sleep(max(0.0, float(start_at) - time.time()))
    filled = 0
    for i in range(int(count)):
        report = engine.submit(
            {
                "symbol": "AAPL",
                "side": "buy" if i % 2 else "sell",
                "qty": "1",
                "account_id": account,
                "idempotency_key": f"{account}-{i}",
            }
        )
        filled += report.status.value == "FILLED"
    refused = {str(p): store.chain_heads.of(p).refused for p in range(4)}
    store.close()
    print(json.dumps({"filled": filled, "refused": refused, "round_trips": store.round_trips}))


if __name__ == "__main__":
    main()
