"""The registry: real entry-point look-ups, adapters' own settings blocks, LIVE safety."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.brokers import registry
from ordergate.brokers.builtin import ExchangeSettings, PaperSettings
from ordergate.brokers.exchange import ExchangeBroker
from ordergate.brokers.paper import PaperBroker
from ordergate.brokers.registry import (
    BrokerPlugin,
    adapter_secret_values,
    available,
    build_broker_from_registry,
    check_live_account,
    load,
)
from ordergate.clock import SimulatedClock
from ordergate.config import CONFIG_ENV, load_settings
from ordergate.domain.errors import ConfigError, ErrorCode
from tests.brokers.conftest import PLUGINS, Install

DUMMY = PLUGINS / "og_dummy_broker"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    for name in ("ORDERGATE_MODE", "ORDERGATE_ACCOUNT_ID", "ORDERGATE_EXEC_BROKER_ADAPTER"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _forget_dummy() -> Iterator[None]:
    yield
    for module in [m for m in sys.modules if m.startswith("og_dummy_broker")]:
        del sys.modules[module]


def test_the_built_in_adapters_are_found_through_their_entry_points(install: Install) -> None:
    assert {"paper", "exchange"} <= set(available())
    assert load("PAPER").settings is PaperSettings
    assert load("exchange").settings is ExchangeSettings
    settings = load_settings(database_url="sqlite:///:memory:")
    assert isinstance(build_broker_from_registry(settings, SimulatedClock()), PaperBroker)


def test_an_unknown_name_lists_the_registry(install: Install) -> None:
    with pytest.raises(ConfigError) as info:
        load("x")
    assert info.value.code is ErrorCode.E_CONFIG_INVALID
    assert str(info.value).startswith("E_CONFIG_INVALID: unknown broker adapter 'x'; available: ")
    listed = str(info.value).split("available: ")[1].split(", ")
    assert {"exchange", "fix", "ibkr", "kite", "paper"} <= set(listed), listed
    assert listed == sorted(listed)


def test_a_package_of_its_own_is_found_and_built(
    install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="unknown broker adapter 'dummy'"):
        load("dummy")  # not installed yet: nothing in ordergate names it
    install(DUMMY)
    assert "dummy" in available()
    plugin = load("dummy")
    assert isinstance(plugin, BrokerPlugin)
    monkeypatch.setenv("ORDERGATE_DUMMY_API_TOKEN", "s3cret-token")
    settings = load_settings(
        database_url="sqlite:///:memory:",
        exec_broker_adapter="dummy",
        mode="LIVE",
        account_id="DU000001",
    )
    adapter = build_broker_from_registry(settings, SimulatedClock())
    assert adapter.adapter_id == "dummy"
    assert adapter.fetch_account().account_id == "DU000001"
    block = plugin.block()
    assert block.secret_values() == ["s3cret-token"]
    assert adapter_secret_values(settings) == ["s3cret-token"]
    assert "s3cret" not in repr(block)


def test_an_adapters_block_comes_from_the_file_and_its_environment(
    install: Install, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    install(DUMMY)
    config = tmp_path / "og.yaml"
    config.write_text(
        "exec_broker_adapter: exchange\n"
        "exec_timeout_ms: 750\n"
        "exchange:\n  url: http://127.0.0.1:9999\n  dedupe: false\n"
        "dummy:\n  account: DU777\n  starting_cash: '1234.5'\n"
    )
    monkeypatch.setenv(CONFIG_ENV, str(config))
    monkeypatch.setenv("ORDERGATE_DUMMY_ACCOUNT", "DU888")  # the environment wins
    settings = load_settings()  # the main settings accept (and leave) the blocks
    assert settings.exec_broker_adapter == "exchange"
    adapter = build_broker_from_registry(settings, SimulatedClock())
    assert isinstance(adapter, ExchangeBroker)
    assert (adapter._host, adapter._port, adapter.timeout) == ("127.0.0.1", 9999, 0.75)
    assert not adapter.capabilities.dedupes_client_order_id
    dummy = load("dummy").block()
    assert (dummy.account, dummy.starting_cash) == ("DU888", Decimal("1234.5"))


def test_a_bad_block_and_an_unregistered_block_are_refused(
    install: Install, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "og.yaml"
    monkeypatch.setenv(CONFIG_ENV, str(config))
    config.write_text("exchange:\n  timeout_ms: -1\n  colour: red\n")
    with pytest.raises(ConfigError, match=r"bad exchange settings .*timeout_ms.*colour"):
        load("exchange").block()
    config.write_text("nobroker:\n  host: 127.0.0.1\n")  # no adapter of that name installed
    with pytest.raises(ConfigError, match="nobroker"):
        load_settings()


def test_a_real_broker_needs_live_and_its_own_account(
    install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(DUMMY)
    monkeypatch.setenv("ORDERGATE_DUMMY_API_TOKEN", "t")
    clock = SimulatedClock()
    paper_mode = load_settings(database_url="sqlite:///:memory:", exec_broker_adapter="dummy")
    with pytest.raises(ConfigError, match="trades a real account, but the mode is PAPER"):
        build_broker_from_registry(paper_mode, clock)
    wrong = load_settings(
        database_url="sqlite:///:memory:", exec_broker_adapter="dummy", mode="LIVE"
    )
    with pytest.raises(ConfigError, match="reports account 'DU000001', but account_id is"):
        build_broker_from_registry(wrong, clock)
    monkeypatch.setenv("ORDERGATE_DUMMY_API_TOKEN", "")
    right = load_settings(
        database_url="sqlite:///:memory:",
        exec_broker_adapter="dummy",
        mode="LIVE",
        account_id="DU000001",
    )
    with pytest.raises(ConfigError, match=r"cannot confirm the account .*API_TOKEN"):
        build_broker_from_registry(right, clock)


def test_outside_live_a_real_brokers_factory_never_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mode is checked from the plugin before the factory, which may connect."""
    made: list[str] = []

    def make(block: Any, settings: Any, clock: Any) -> PaperBroker:
        made.append("connected")
        return PaperBroker()

    real = BrokerPlugin(settings=load("paper").settings, make=make, description="real")
    monkeypatch.setattr(registry, "load", lambda name: real)
    paper_mode = load_settings(database_url="sqlite:///:memory:", exec_broker_adapter="paper")
    with pytest.raises(ConfigError, match="trades a real account, but the mode is PAPER"):
        build_broker_from_registry(paper_mode, SimulatedClock())
    assert made == []
    simulator = replace(real, simulated=True)
    monkeypatch.setattr(registry, "load", lambda name: simulator)
    assert isinstance(build_broker_from_registry(paper_mode, SimulatedClock()), PaperBroker)
    assert made == ["connected"]


def test_simulated_brokers_run_outside_live_and_are_checked_in_it() -> None:
    broker = PaperBroker()
    check_live_account(load_settings(database_url="sqlite:///:memory:"), broker)
    live = load_settings(database_url="sqlite:///:memory:", mode="LIVE", account_id="paper")
    check_live_account(live, broker)  # the paper broker reports "paper"
    other = load_settings(database_url="sqlite:///:memory:", mode="LIVE", account_id="acct-1")
    with pytest.raises(ConfigError, match="reports account 'paper'"):
        check_live_account(other, broker)


def test_the_kit_imports_without_pytest() -> None:
    """``ordergate`` and the harness protocols never pull pytest in; the suite does."""
    code = (
        "import sys, ordergate, ordergate.testing.harness, ordergate.brokers.builtin;"
        "assert 'pytest' not in sys.modules, 'pytest imported';"
        "import ordergate.testing.broker_contract;"
        "assert 'pytest' in sys.modules"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env={"PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
