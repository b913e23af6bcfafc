"""Hardening item 1: an order that reached the broker is never answered "nothing was sent".

When recording the broker's answer fails (a full disk, the database gone), the caller
gets ``E_EXEC_SENT_UNRECORDED`` with the order id; the same key replays the order; and
a sync once the store can write records what the broker did.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from ordergate.brokers.base import BrokerOrder, OrderRequest
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import (
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
    ErrorCode,
    PersistenceError,
    SentUnrecorded,
)
from ordergate.engine.engine import ExecutionEngine
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.base import UnitOfWork
from ordergate.store.sqlite import SqliteStore

from .fakes import ScriptedBroker


class FailingStore(SqliteStore):
    """A SQLite store whose next transactions fail while ``broken`` is set."""

    broken = False

    def transaction(self) -> AbstractContextManager[UnitOfWork]:  # type: ignore[override]
        if self.broken:
            raise PersistenceError("the SQLite store failed: database or disk is full")
        return super().transaction()


def intent(key: str = "k1", qty: str = "10") -> dict[str, Any]:
    return {"idempotency_key": key, "symbol": "AAPL", "side": "BUY", "qty": qty}


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[FailingStore, ScriptedBroker, ExecutionEngine]]:
    clock = SimulatedClock()
    store = FailingStore(tmp_path / "og.db")
    store.migrate()
    broker = ScriptedBroker(clock)
    engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "100")
    yield store, broker, engine
    store.broken = False
    store.close()


def break_after_submit(store: FailingStore, broker: ScriptedBroker, answer: Any = None) -> None:
    """The broker takes the order (or answers ``answer``); then the store fails."""

    def submit(request: OrderRequest) -> BrokerOrder:
        store.broken = True
        if isinstance(answer, Exception):
            raise answer
        return broker.ack(request)

    broker.on_submit = submit


def test_a_receipt_that_cannot_be_recorded_answers_sent_unrecorded(parts: Any) -> None:
    store, broker, engine = parts
    break_after_submit(store, broker)
    with pytest.raises(SentUnrecorded) as caught:
        engine.submit(intent())
    error = caught.value
    assert error.code is ErrorCode.E_EXEC_SENT_UNRECORDED
    assert error.retryable
    assert error.context["order_id"].startswith("ord")
    assert error.context["broker_answer"] == "ACCEPTED"
    assert "nothing was sent" not in error.message
    assert len(broker.submits) == 1

    # the store writes again: the same key replays the order, never a second send
    store.broken = False
    again = engine.submit(intent())
    assert again.order_id == error.context["order_id"]
    assert again.replayed
    assert len(broker.submits) == 1
    # a sync records what the broker has (as tracking and recovery do)
    engine.sync_broker_state()
    assert engine.order(again.order_id).status is OrderStatus.ACCEPTED


def test_a_reject_that_cannot_be_recorded_is_not_nothing_sent(parts: Any) -> None:
    store, broker, engine = parts
    break_after_submit(store, broker, BrokerRejected("insufficient margin"))
    with pytest.raises(SentUnrecorded) as caught:
        engine.submit(intent())
    assert caught.value.context["broker_answer"] == "rejected"


def test_a_timeout_whose_attempt_cannot_be_recorded_is_not_nothing_sent(parts: Any) -> None:
    store, broker, engine = parts
    break_after_submit(store, broker, BrokerTimeout("no answer in 2000 ms"))
    with pytest.raises(SentUnrecorded) as caught:
        engine.submit(intent())
    assert "E_EXEC_BROKER_TIMEOUT" in caught.value.context["broker_answer"]


def test_a_failure_before_anything_reached_the_broker_stays_persistence(parts: Any) -> None:
    """Not received (connection refused): failing to record that is still "nothing sent"."""
    store, broker, engine = parts
    engine.retry = RetryPolicy(max_retries=0)
    break_after_submit(store, broker, BrokerUnavailable("connection refused"))
    with pytest.raises(PersistenceError) as caught:
        engine.submit(intent())
    assert not isinstance(caught.value, SentUnrecorded)
    assert caught.value.code is ErrorCode.E_EXEC_PERSISTENCE


def test_a_basket_whose_receipts_cannot_be_recorded_names_its_orders(parts: Any) -> None:
    store, broker, engine = parts
    sent = 0

    def submit(request: OrderRequest) -> BrokerOrder:
        nonlocal sent
        sent += 1
        if sent == 2:
            store.broken = True
        return broker.ack(request)

    broker.on_submit = submit
    with pytest.raises(SentUnrecorded) as caught:
        engine.submit_many([intent("b1"), intent("b2", "5")])
    assert len(caught.value.context["order_ids"].split(",")) == 2


# ------------------------------------------------------------ a real full disk


@contextmanager
def small_tmpfs(path: Path, size: str = "4m") -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_disk(directory: Path) -> Path:
    """Write a filler file until the filesystem says ENOSPC; return it."""
    filler = directory / "filler"
    chunk = b"\0" * 4096
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(chunk)
    return filler


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_on_a_real_full_filesystem_the_order_is_named_and_recorded_later(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        clock = SimulatedClock()
        store = SqliteStore(disk / "og.db")
        store.migrate()
        broker = ScriptedBroker(clock)
        engine = ExecutionEngine(store, broker, clock=clock, ids=SequentialIds())
        engine.mark("AAPL", "100")
        engine.submit(intent("warm-up"))  # the WAL has grown to its working size
        filler: list[Path] = []

        def submit(request: OrderRequest) -> BrokerOrder:
            filler.append(fill_disk(disk))  # the disk fills while the order is out
            return broker.ack(request)

        broker.on_submit = submit
        try:
            engine.submit(intent("big", "10"))
        except SentUnrecorded as exc:
            order_id = exc.context["order_id"]
        else:  # pragma: no cover - the WAL had room for the receipt after all
            pytest.skip("the receipt fit in the WAL's free pages; the disk was not full")
        with pytest.raises(OSError, match="No space left") as nospace:
            (disk / "probe").write_bytes(b"\0" * 65536)
        assert nospace.value.errno == errno.ENOSPC
        filler[0].unlink()  # space again
        engine.sync_broker_state()
        assert engine.order(order_id).status is OrderStatus.ACCEPTED
        assert engine.submit(intent("big", "10")).order_id == order_id
        assert len(broker.submits) == 2  # warm-up and big, once each
        store.close()
