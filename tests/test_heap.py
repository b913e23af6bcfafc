"""GC settings for long runs are scoped: what was there before comes back."""

from __future__ import annotations

import gc

import pytest

from ordergate.heap import YOUNG_THRESHOLD, fewer_collections, freeze_startup


def _failing_run() -> None:
    with fewer_collections():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        raise RuntimeError("the run failed")


def test_fewer_collections_restores_the_thresholds_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        _failing_run()
    assert gc.get_threshold() == before


def test_freeze_startup_moves_live_objects_to_the_permanent_generation() -> None:
    keep = [object() for _ in range(10)]
    try:
        freeze_startup()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    del keep
