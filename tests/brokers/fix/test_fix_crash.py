"""The crash sweep over FIX (a few trials per step here; 200 per step in
``bench/bench_crash_fix.py``): 0 duplicates, 0 lost, positions exact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.brokers.fix.crash import run_sweep

TRIALS = int(os.environ.get("ORDERGATE_CRASH_TRIALS", "1"))


@pytest.mark.slow
def test_crash_sweep_over_fix(tmp_path: Path) -> None:
    result = run_sweep(TRIALS, tmp_path)
    assert result["duplicates"] == 0, result
    assert result["lost"] == 0, result
    assert result["position_mismatches"] == 0, result
    assert all(n > 0 for n in result["crashed_by_label"].values()), result
