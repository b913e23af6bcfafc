"""Kill the engine process (SIGKILL) in the middle of a modify, restart, recover: the
simulated exchange (its own process, deduping nothing) has applied exactly one replace,
and the engine's record agrees with it."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.domain.enums import OrderStatus
from ordergate.domain.events import REPLACE_REQUESTED_TOPIC
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.recovery import recover
from ordergate.resilience.crashpoint import CRASH_AT_ENV, CRASH_SKIP_ENV
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.sqlite import SqliteStore
from tests.crash.sweep import exchange_process

LABELS = ("after_replace_persisted", "after_modify_send", "after_modify_reply")
ORDER = {
    "idempotency_key": "entry-1",
    "symbol": "AAPL",
    "side": "BUY",
    "qty": "10",
    "order_type": "LIMIT",
    "limit_price": "50",
    "time_in_force": "GTC",
}


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with exchange_process(tmp_path_factory.mktemp("exchange")) as url:
        yield url


def life(
    db: Path, url: str, account: str, work: Callable[[ExecutionEngine], dict[str, Any]], **env: str
) -> tuple[int, dict[str, Any] | None]:
    """One life of the engine in a forked process (``env`` set in it); its exit code
    (negative: the signal that ended it) and what ``work`` returned."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_fd)
            os.environ.update(env)
            store = SqliteStore(db)
            store.migrate()
            broker = ExchangeBroker(
                url,
                dedupes_client_order_id=False,
                lookup_miss_conclusive=True,
                account_id=account,
                stream=False,
            )
            engine = ExecutionEngine(store, broker, retry=RetryPolicy(max_retries=0))
            os.write(write_fd, json.dumps(work(engine)).encode())
            store.close()
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    deadline = time.monotonic() + 60
    while not (done := os.waitpid(pid, os.WNOHANG))[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    status = done[1]
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return code, json.loads(data) if code == 0 and data else None


def submit(engine: ExecutionEngine) -> dict[str, Any]:
    report = engine.submit({**ORDER, "account_id": engine.broker._account})  # type: ignore[attr-defined]
    return {"order_id": report.order_id, "status": report.status.value}


def modifier(order_id: str) -> Callable[[ExecutionEngine], dict[str, Any]]:
    def work(engine: ExecutionEngine) -> dict[str, Any]:
        report = engine.modify(order_id, qty="15", limit_price="51", key="mod-1")
        return {"replace": report.extra["replace"]}

    return work


def recovering(order_id: str) -> Callable[[ExecutionEngine], dict[str, Any]]:
    def work(engine: ExecutionEngine) -> dict[str, Any]:
        recovery = recover(engine).to_dict()
        again = engine.modify(order_id, qty="15", limit_price="51", key="mod-1")  # a retry
        return {"recovery": recovery, "replace": again.extra["replace"], "replayed": again.replayed}

    return work


@pytest.mark.parametrize("label", LABELS)
def test_a_crash_mid_modify_sends_one_replace(exchange: str, tmp_path: Path, label: str) -> None:
    account = f"m{uuid.uuid4().hex[:10]}"
    db = tmp_path / "og.db"
    code, first = life(db, exchange, account, submit)
    assert code == 0
    assert first is not None
    assert first["status"] == "ACCEPTED", first
    order_id = first["order_id"]

    code, _ = life(
        db, exchange, account, modifier(order_id), **{CRASH_AT_ENV: label, CRASH_SKIP_ENV: "0"}
    )
    assert code == -signal.SIGKILL, f"the engine was to die at {label}"
    store = SqliteStore(db)
    store.migrate()
    dead = store.get_order(order_id)
    assert dead is not None
    assert dead.pending_replace is not None, "the replace was persisted before the call"
    assert dead.qty == 10, "the terms change only when the broker confirms"
    store.close()

    code, after = life(db, exchange, account, recovering(order_id))
    assert code == 0
    assert after is not None
    assert after["replace"]["state"] == "replaced", after

    adapter = ExchangeBroker(exchange, stream=False, account_id=account)
    at_exchange = [o for o in adapter.fetch_all_orders() if o.account_id == account]
    assert len(at_exchange) == 1, "one order at the exchange"
    [order] = at_exchange
    assert order.raw["replaces"] == [f"{order.client_order_id}.r1"], "exactly one replace"
    assert (order.qty, order.limit_price) == (15, 51)
    store = SqliteStore(db)
    store.migrate()
    ours = store.get_order(order_id)
    assert ours is not None
    assert (ours.qty, ours.limit_price, ours.pending_replace) == (15, 51, None)
    assert ours.status is OrderStatus.ACCEPTED
    requested = [e for e in store.events_for(order_id) if e.topic == REPLACE_REQUESTED_TOPIC]
    assert len(requested) == 1, "one replace, recorded once"
    store.close()
