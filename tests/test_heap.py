"""GC settings for long runs are scoped: what was there before comes back."""

from __future__ import annotations

import gc

from ordergate.heap import freeze_startup


def test_freeze_startup_moves_live_objects_to_the_permanent_generation() -> None:
    keep = [object() for _ in range(10)]
    try:
        freeze_startup()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    del keep
