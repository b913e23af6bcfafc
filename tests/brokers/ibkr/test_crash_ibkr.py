"""SIGKILL the engine at every step of the submit path with the IB adapter, restart,
recover: no duplicate at IB (which dedupes nothing), nothing lost, positions exact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.brokers.ibkr.crash import run_sweep

TRIALS = int(os.environ.get("ORDERGATE_CRASH_TRIALS", "2"))


@pytest.mark.slow
def test_crash_sweep_with_ibkr(tmp_path: Path) -> None:
    result = run_sweep(TRIALS, tmp_path)
    assert result["duplicates"] == 0, result
    assert result["lost"] == 0, result
    assert result["position_mismatches"] == 0, result
    assert all(n > 0 for n in result["crashed_by_label"].values()), result
