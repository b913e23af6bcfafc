"""The crash sweep with the Kite adapter (reduced here; ``bench/bench_crash_kite.py``
runs 200 per step): 0 duplicates, 0 lost — Kite does not dedupe either."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.brokers.kite.crash import run_sweep

TRIALS = int(os.environ.get("ORDERGATE_CRASH_TRIALS", "2"))


@pytest.mark.slow
def test_crash_sweep_with_kite(tmp_path: Path) -> None:
    result = run_sweep(TRIALS, tmp_path)
    assert result["duplicates"] == 0, result
    assert result["lost"] == 0, result
    assert all(n > 0 for n in result["crashed_by_label"].values()), result
