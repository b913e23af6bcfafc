"""SIGKILL at every submit-path step against the Alpaca adapter and its fake: no
duplicate, nothing lost (one trial a step here;
``ORDERGATE_CRASH_TRIALS=200`` runs the full sweep)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.brokers.alpaca.fake import ACCOUNT_ID, FakeAlpaca
from tests.brokers.alpaca.harness import build
from tests.brokers.live_crash import run_sweep

TRIALS = int(os.environ.get("ORDERGATE_CRASH_TRIALS", "1"))


@pytest.mark.slow
def test_crash_sweep_alpaca(fake_alpaca: FakeAlpaca, tmp_path: Path) -> None:
    from decimal import Decimal

    fake_alpaca.mark("AAPL", Decimal(100))
    result = run_sweep(
        lambda: build(fake_alpaca, stream=False),
        lambda cid: len(fake_alpaca.orders_for(cid)),
        tmp_path,
        account=ACCOUNT_ID,
        symbol="AAPL",
        qty=lambda rng: str(rng.randint(1, 20)),
        trials_per_label=TRIALS,
    )
    assert result["duplicates"] == 0, result
    assert result["lost"] == 0, result
    assert all(n > 0 for n in result["crashed"].values()), result
