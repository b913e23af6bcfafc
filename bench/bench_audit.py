"""``audit verify`` on a keyed SQLite store: the walk and the re-fold of derived rows.

Prints one JSON line: events, seconds for the chain walk alone and with the derived rows.

    python bench/bench_audit.py --orders 10000
"""

from __future__ import annotations

import argparse
import json
import secrets
import sqlite3
import tempfile
import time
from pathlib import Path

from ordergate.brokers.paper import PaperBroker
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.audit import verify_chain
from ordergate.store.checkpoint import AuditTrail, Checkpoint
from ordergate.store.sqlite import SqliteStore


def run(orders: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        key = secrets.token_bytes(32)
        checkpoint = Checkpoint(Path(tmp) / "bench.head", key, "bench")
        store = SqliteStore(
            Path(tmp) / "bench.db", synchronous="OFF", audit=AuditTrail(key, checkpoint)
        )
        store.migrate()
        engine = ExecutionEngine(store, PaperBroker())
        engine.mark("AAPL", "150.00")
        for i in range(orders):
            side = "buy" if i % 2 == 0 else "sell"
            engine.submit({"symbol": "AAPL", "side": side, "qty": "1", "idempotency_key": f"a{i}"})
        store.close()
        conn = sqlite3.connect(Path(tmp) / "bench.db", isolation_level=None)
        t0 = time.perf_counter()
        walk = verify_chain(conn, key=key, checkpoint=checkpoint.read(), derived=False)
        t1 = time.perf_counter()
        full = verify_chain(conn, key=key, checkpoint=checkpoint.read())
        t2 = time.perf_counter()
        conn.close()
        if not (walk.ok and full.ok):
            raise SystemExit(f"the chain does not verify: {full.problems[:3]}")
        return {
            "bench": "audit_verify_sqlite",
            "orders": orders,
            "events": full.checked,
            "walk_s": round(t1 - t0, 3),
            "walk_and_derived_s": round(t2 - t1, 3),
            "events_per_s": round(full.checked / (t2 - t1)),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    print(json.dumps(run(parser.parse_args().orders)))


if __name__ == "__main__":
    main()
