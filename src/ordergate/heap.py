"""Garbage-collector settings for long runs: fewer and shorter collections.

CPython's cyclic collector is triggered by allocations and, every so often, walks every
object that is still alive. Two of ordergate's runs keep many objects alive:

- a **backtest** on the in-memory store keeps every order, fill and event of the run,
  so each full collection walks more of them than the one before; with the default
  thresholds the collector took about a third of a backtest's time
  (``bench/bench_backtest.py``). :func:`fewer_collections` raises the thresholds for
  the length of the run and puts them back after;
- **serve** builds its application, settings and imported modules once and keeps them
  to the end; :func:`freeze_startup` moves them out of the collector's sight, so a
  full collection while orders are flowing walks only what was allocated since.

Neither turns the collector off: cycles are still collected, only less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: allocations (net of frees) between young collections, instead of CPython's 700
YOUNG_THRESHOLD = 50_000


@contextmanager
def fewer_collections(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Collect less often inside the ``with`` block; the old thresholds come back after."""
    before = gc.get_threshold()
    gc.set_threshold(young, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def freeze_startup() -> None:
    """Collect once, then leave every object alive now out of later collections."""
    gc.collect()
    gc.freeze()
