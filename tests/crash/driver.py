"""The engine as a real process, for the crash sweep (run by ``sweep.py``).

``python tests/crash/driver.py --db F --exchange URL --account A --intents N --seed S``

1. recovers (``ordergate.engine.recovery.recover``) and times it;
2. submits the same N intents every run (same idempotency keys, as a strategy that
   replays its decisions after a restart);
3. waits until no order is open; prints one JSON line.

With ``ORDERGATE_CRASH_AT=label`` it dies by SIGKILL at that step: the store wrapper
below marks the steps around the commit of the intent and of a fill, and of a group
commit (``group_forming``: a unit joins a group others wait in; ``group_writing``: just
before a group of several is committed; ``group_written``: committed, its members not
yet released); the exchange adapter marks ``after_send`` and ``after_reply``; this
script marks ``after_receipt_persisted`` (the receipt may ride a later group there).

``--clients N`` submits the intents from N threads at once, so that their units of
work are committed in groups.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.engine.engine import ExecutionEngine, client_order_id_for
from ordergate.engine.recovery import recover
from ordergate.resilience.crashpoint import crashpoint
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.sqlite import SqliteStore

LABELS = (
    "before_intent_commit",
    "after_intent_commit",
    "after_send",
    "after_reply",
    "after_receipt_persisted",
    "mid_fill",
)
#: Steps of a group commit: they happen only with concurrent submitters (the other
#: sweeps, one submitter each, keep to ``LABELS``).
GROUP_LABELS = ("group_forming", "group_writing", "group_written")
SYMBOLS = ("AAPL", "MSFT")


class _Spy:
    """A unit of work that notes what was written, passing everything through."""

    def __init__(self, tx: Any) -> None:
        self._tx = tx
        self.intent = False
        self.fill = False

    def insert_intent(self, *args: Any) -> None:
        self.intent = True
        self._tx.insert_intent(*args)

    def insert_fill(self, *args: Any) -> None:
        self.fill = True
        self._tx.insert_fill(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


class CrashingStore(SqliteStore):
    """The SQLite store with crash points around the commits that matter."""

    @contextmanager
    def transaction(self) -> Iterator[Any]:  # type: ignore[override]
        with super().transaction() as tx:
            spy = _Spy(tx)
            yield spy
            if spy.intent:
                crashpoint("before_intent_commit")
            if spy.fill:
                crashpoint("mid_fill")
            if self._group.members:  # others of this group wait for its commit
                crashpoint("group_forming")
        if spy.intent:
            crashpoint("after_intent_commit")

    def _commit_group(self) -> None:
        several = self._group.members > 1
        if several:
            crashpoint("group_writing")
        super()._commit_group()
        if several:
            crashpoint("group_written")


def intents(account: str, count: int, seed: int) -> list[tuple[dict[str, Any], str]]:
    """The run's intents and the exchange faults each one's first submit carries."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        intent = {
            "idempotency_key": f"{account}-{i}",
            "account_id": account,
            "symbol": rng.choice(SYMBOLS),
            "side": rng.choice(("BUY", "SELL")),
            "qty": str(rng.randint(1, 20)),
        }
        fault = rng.choice(("", "fill_parts=2", "fill_parts=3,part_gap_ms=20", "delay_fill_ms=30"))
        out.append((intent, fault))
    return out


def run(argv: list[str]) -> dict[str, Any]:
    """One life of the engine: recover, submit, settle; return the summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--intents", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args(argv)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    started = time.perf_counter()
    store = CrashingStore(args.db)
    store.migrate()
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
    engine = ExecutionEngine(store, broker, retry=RetryPolicy(max_retries=2, base_delay=0.01))
    recovery = recover(engine)
    recovered_at = time.perf_counter()
    work = intents(args.account, args.intents, args.seed)
    errors: list[BaseException] = []

    def submitter(mine: list[tuple[dict[str, Any], str]]) -> None:
        try:
            for intent, fault in mine:
                cid = client_order_id_for(args.account, intent["idempotency_key"])
                if fault and store.order_by_client_id(cid) is None:
                    broker.inject("submit", fault)
                engine.submit(intent)
                crashpoint("after_receipt_persisted")
        except BaseException as exc:
            errors.append(exc)

    clients = max(1, args.clients)
    threads = [threading.Thread(target=submitter, args=(work[n::clients],)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    deadline = time.monotonic() + 15
    while store.open_orders() and time.monotonic() < deadline:
        time.sleep(0.03)
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


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1:])))
