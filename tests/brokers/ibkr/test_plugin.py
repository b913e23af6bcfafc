"""``ibkr`` through the registry: found by its entry point, its block read from the
environment, its account a secret, and a real account refused outside LIVE."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordergate.brokers.ibkr.adapter import IbkrBroker
from ordergate.brokers.registry import adapter_secret_values, build_broker_from_registry, load
from ordergate.clock import SimulatedClock
from ordergate.config import load_settings
from ordergate.domain.errors import ConfigError
from tests.brokers.conftest import Install
from tests.brokers.ibkr.fake_tws import ACCOUNT, FakeTws


def test_ibkr_is_registered_and_built_from_its_block(
    install: Install, tws: FakeTws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "HOST": "127.0.0.1",
        "PORT": str(tws.port),
        "CLIENT_ID": "11",
        "ACCOUNT": ACCOUNT,
    }.items():
        monkeypatch.setenv(f"ORDERGATE_IBKR_{key}", value)
    db = f"sqlite:///{tmp_path / 'og.db'}"
    block = load("ibkr").block()
    assert ACCOUNT not in repr(block)
    paper = load_settings(database_url=db, exec_broker_adapter="ibkr")
    assert adapter_secret_values(paper) == [ACCOUNT]  # for the log redactor
    with pytest.raises(ConfigError, match="trades a real account"):
        build_broker_from_registry(paper, SimulatedClock())
    live = load_settings(
        database_url=db, exec_broker_adapter="ibkr", mode="LIVE", account_id="main"
    )
    adapter = build_broker_from_registry(live, SimulatedClock())
    try:
        assert isinstance(adapter, IbkrBroker)
        assert adapter.fetch_account().account_id == "main"
        assert Path(f"{tmp_path / 'og.db'}.ibkr-11.ids").exists(), "the ledger beside the db"
    finally:
        adapter.close()


def test_the_account_is_required(install: Install, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERGATE_IBKR_ACCOUNT", raising=False)
    with pytest.raises(ConfigError, match="account"):
        load("ibkr").block()
