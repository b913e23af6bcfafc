"""The SIGKILL sweep with a TWAP running, a few trials (``bench/bench_crash_algo.py`` runs
many): 0 duplicate children, filled ≤ the parent's quantity, resumed after restart."""

from __future__ import annotations

from pathlib import Path

from .crash_sweep import run_sweep


def test_a_twap_killed_at_random_moments_never_duplicates_or_overfills(tmp_path: Path) -> None:
    result = run_sweep(4, tmp_path, seed=18)
    assert result["crashed"] >= 3, result
    assert result["duplicates"] == 0, result
    assert result["orphans"] == 0, result
    assert result["overfilled"] == 0, result
    assert result["not_resumed"] == 0, result
    assert result["problems"] == [], result
