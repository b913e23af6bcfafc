"""The ``alpaca`` entry point: settings from ``ORDERGATE_ALPACA_*``, LIVE only against
the account Alpaca reports, credentials as secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordergate.brokers.alpaca.adapter import AlpacaBroker
from ordergate.brokers.registry import adapter_secret_values, build_broker_from_registry
from ordergate.clock import SimulatedClock
from ordergate.config import CONFIG_ENV, load_settings
from ordergate.domain.errors import ConfigError
from tests.brokers.alpaca.conftest import KEY, SECRET
from tests.brokers.alpaca.fake import ACCOUNT_ID, FakeAlpaca
from tests.brokers.conftest import Install


@pytest.fixture
def env(
    fake_alpaca: FakeAlpaca, install: Install, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("ORDERGATE_ALPACA_API_KEY", KEY)
    monkeypatch.setenv("ORDERGATE_ALPACA_SECRET_KEY", SECRET)
    monkeypatch.setenv("ORDERGATE_ALPACA_BASE_URL", fake_alpaca.url)
    monkeypatch.setenv("ORDERGATE_ALPACA_STREAM_URL", fake_alpaca.stream.url)
    monkeypatch.setenv("ORDERGATE_ALPACA_STREAM", "false")


@pytest.mark.usefixtures("env")
def test_live_against_the_reported_account() -> None:
    settings = load_settings(
        database_url="sqlite:///:memory:",
        exec_broker_adapter="alpaca",
        mode="LIVE",
        account_id=ACCOUNT_ID,
    )
    adapter = build_broker_from_registry(settings, SimulatedClock())
    assert isinstance(adapter, AlpacaBroker)
    adapter.close()
    assert set(adapter_secret_values(settings)) == {KEY, SECRET}


@pytest.mark.usefixtures("env")
def test_another_account_or_paper_mode_is_refused() -> None:
    wrong = load_settings(
        database_url="sqlite:///:memory:",
        exec_broker_adapter="alpaca",
        mode="LIVE",
        account_id="someone-else",
    )
    with pytest.raises(ConfigError, match="reports account"):
        build_broker_from_registry(wrong, SimulatedClock())
    paper = load_settings(database_url="sqlite:///:memory:", exec_broker_adapter="alpaca")
    with pytest.raises(ConfigError, match="MODE=LIVE"):
        build_broker_from_registry(paper, SimulatedClock())


def test_missing_keys_say_which(
    install: Install, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    settings = load_settings(
        database_url="sqlite:///:memory:", exec_broker_adapter="alpaca", mode="LIVE"
    )
    with pytest.raises(ConfigError, match="ORDERGATE_ALPACA_API_KEY"):
        build_broker_from_registry(settings, SimulatedClock())
