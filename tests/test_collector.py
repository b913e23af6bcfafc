"""The collector the composition root sets: no full collection by itself, the
application's own settings left alone, and a submit path that leaves no cycles behind
(so nothing of it waits for the full collection that no longer comes by itself)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from ordergate.bootstrap import (
    ENGINE_THRESHOLDS,
    PYTHON_THRESHOLDS,
    build_paper_broker,
    build_runtime,
    quiet_collector,
)
from ordergate.clock import SystemClock
from ordergate.config import load_settings
from ordergate.store.memory import MemoryStore


@pytest.fixture(autouse=True)
def _thresholds() -> Iterator[None]:
    before, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*before)
    if enabled:
        gc.enable()


def test_python_defaults_become_the_engine_thresholds() -> None:
    gc.set_threshold(*PYTHON_THRESHOLDS)
    assert quiet_collector()
    assert gc.get_threshold() == ENGINE_THRESHOLDS
    assert not quiet_collector()  # once set, nothing more to do


def test_a_collector_the_application_tuned_is_left_alone() -> None:
    gc.set_threshold(5000, 20, 20)
    assert not quiet_collector()
    assert gc.get_threshold() == (5000, 20, 20)
    gc.set_threshold(*PYTHON_THRESHOLDS)
    gc.disable()
    assert not quiet_collector()
    assert gc.get_threshold() == PYTHON_THRESHOLDS


@pytest.mark.parametrize("gates", [False, True], ids=["operator-gates", "every-gate"])
def test_the_submit_path_makes_no_reference_cycles(tmp_path: Path, gates: bool) -> None:
    gc.set_threshold(*PYTHON_THRESHOLDS)
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'og.db'}",
        exec_max_orders_per_min=1_000_000,
        exec_requests_per_second=1_000_000,
        risk_enabled=gates,
        risk={  # every gate runs; these would refuse a run of alternating round trips
            "breakers": {
                "max_loss_streak": None,
                "max_trades_per_day": None,
                "max_trades_per_strategy_per_day": None,
            },
            "duplicate_window_ms": None,
        },
        audit_dir=str(tmp_path / "audit"),
    )
    broker = build_paper_broker(settings, SystemClock(), persistent=False)
    engine = build_runtime(settings, store=MemoryStore(), broker=broker).engine
    assert gc.get_threshold() == ENGINE_THRESHOLDS
    engine.mark("AAPL", "150.00", bid="149.99", ask="150.01", volume="1000000")

    def submit(first: int, count: int) -> None:
        for i in range(first, first + count):
            side = "buy" if i % 2 == 0 else "sell"
            intent = {"symbol": "AAPL", "side": side, "qty": "1", "idempotency_key": f"k{i}"}
            assert engine.submit(intent).status.value == "FILLED"

    submit(0, 20)  # first-use caches (imports, compiled patterns) are not the path's
    gc.collect()
    gc.disable()
    submit(20, 200)
    assert gc.collect() == 0  # 200 orders, nothing only a cycle collection could free


def test_serve_collects_cycles_on_its_schedule() -> None:
    """With full collections kept off the submit path, serve's schedule frees cycles."""
    import time
    import weakref

    from ordergate.bootstrap import ENGINE_THRESHOLDS
    from ordergate.heap import CollectorSchedule

    before = gc.get_threshold()
    gc.set_threshold(*ENGINE_THRESHOLDS)
    try:

        class Node:
            other: object = None

        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        for _ in range(3):  # promote the pair to the oldest generation
            gc.collect(1)
        del a, b
        gc.collect(1)
        assert gone() is not None, "the cycle waits for a full collection"
        schedule = CollectorSchedule(0.05)
        schedule.start()
        deadline = time.monotonic() + 5
        while gone() is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        schedule.stop()
        assert gone() is None
        assert schedule.runs >= 1
    finally:
        gc.set_threshold(*before)
