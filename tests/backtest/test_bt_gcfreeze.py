"""Freezing what a run has built: on during the run, all given back after, no effect
on results, and hands off when something else froze objects first."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from btkit import bars, wave

from ordergate.backtest.examples import Alternate
from ordergate.backtest.runner import BacktestConfig, BacktestRunner
from ordergate.heap import FreezeLongLived


@pytest.fixture(autouse=True)
def _clean_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:  # pragma: no cover - pytest runs with the collector on
        gc.disable()


def test_it_freezes_every_so_many_ticks_and_gives_all_back() -> None:
    with FreezeLongLived(every=3) as freezer:
        assert freezer.active
        freezer.tick()
        freezer.tick()
        assert gc.get_freeze_count() == 0
        keep = [[] for _ in range(10)]
        freezer.tick()
        assert gc.get_freeze_count() >= len(keep)
    assert gc.get_freeze_count() == 0
    assert not freezer.active


def test_it_gives_all_back_when_the_run_fails() -> None:
    seen: list[int] = []

    def failing_run() -> None:
        with FreezeLongLived(every=1) as freezer:
            freezer.tick()
            seen.append(gc.get_freeze_count())
            raise RuntimeError("strategy bug")

    with pytest.raises(RuntimeError):
        failing_run()
    assert seen[0] > 0
    assert gc.get_freeze_count() == 0


def test_short_lived_cycles_between_freezes_are_still_collected() -> None:
    class Node:
        other: Any = None

    with FreezeLongLived(every=1000) as freezer:
        freezer.tick()
        for _ in range(100):
            a, b = Node(), Node()
            a.other, b.other = b, a
        del a, b
        assert gc.collect() >= 2


def test_it_stands_aside_when_something_else_froze_first() -> None:
    gc.freeze()
    assert gc.get_freeze_count() > 0
    with FreezeLongLived(every=1) as freezer:
        freezer.tick()
        assert not freezer.active
    # theirs to unfreeze: still frozen (the count itself moves as frozen objects are
    # freed by other threads, so it is not compared exactly)
    assert gc.get_freeze_count() > 0
    gc.unfreeze()


def test_it_stands_aside_when_the_collector_is_off_or_asked_to() -> None:
    with FreezeLongLived(enabled=False, every=1) as freezer:
        freezer.tick()
        assert gc.get_freeze_count() == 0
    gc.disable()
    with FreezeLongLived(every=1) as freezer:
        freezer.tick()
        assert not freezer.active
        assert gc.get_freeze_count() == 0


def test_results_are_the_same_with_and_without_it() -> None:
    events = bars(wave(2500))
    frozen = BacktestRunner(BacktestConfig(freeze_gc=True)).run(events, Alternate().on_event)
    assert gc.get_freeze_count() == 0
    plain = BacktestRunner(BacktestConfig(freeze_gc=False)).run(events, Alternate().on_event)
    assert frozen.to_json() == plain.to_json()
