"""SIGKILL at every submit-path step against the ccxt adapter and the fake Binance: no
duplicate, nothing lost (one trial a step here;
``ORDERGATE_CRASH_TRIALS=200`` runs the full sweep)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.brokers.ccxt_binance.fake import UID, FakeBinance
from tests.brokers.ccxt_binance.harness import build
from tests.brokers.live_crash import run_sweep

TRIALS = int(os.environ.get("ORDERGATE_CRASH_TRIALS", "1"))


@pytest.mark.slow
def test_crash_sweep_ccxt(fake_binance: FakeBinance, tmp_path: Path) -> None:
    result = run_sweep(
        lambda: build(fake_binance),
        lambda cid: len(fake_binance.orders_for(cid)),
        tmp_path,
        account=str(UID),
        symbol="BTC/USDT",
        qty=lambda rng: f"{rng.randint(1, 2000) / 1000:.3f}",
        trials_per_label=TRIALS,
    )
    assert result["duplicates"] == 0, result
    assert result["lost"] == 0, result
    assert all(n > 0 for n in result["crashed"].values()), result
