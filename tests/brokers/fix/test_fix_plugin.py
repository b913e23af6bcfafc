"""The ``fix`` entry point, its settings block, and what imports QuickFIX."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ordergate.brokers import registry
from ordergate.brokers.fix.plugin import PLUGIN
from ordergate.brokers.fix.settings import FixSettings
from ordergate.clock import SystemClock
from ordergate.config import load_settings
from ordergate.domain.errors import ConfigError
from tests.brokers.conftest import Install
from tests.brokers.fix.kit import ACCOUNT, PASSWORD, FixRig, initiator_settings


def test_the_entry_point_names_the_plugin(install: Install) -> None:
    assert "fix" in registry.available()
    assert registry.load("fix") is PLUGIN


def test_the_block_reads_the_environment_and_keeps_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERGATE_FIX_CONFIG", str(tmp_path / "s.cfg"))
    monkeypatch.setenv("ORDERGATE_FIX_PASSWORD", "pw-123")
    monkeypatch.setenv("ORDERGATE_FIX_ORDER_TAGS", '{"21": "1"}')
    block = FixSettings.load()
    assert block.config == tmp_path / "s.cfg"
    assert block.order_tags == {21: "1"}
    assert "pw-123" not in repr(block)
    assert block.secret_values() == ["pw-123"]


def test_tags_the_adapter_sets_are_refused() -> None:
    with pytest.raises(ConfigError, match="set by the adapter"):
        FixSettings.load(order_tags={"11": "x"})


def test_live_only_and_the_account_checked(
    rig: FixRig, install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.adapter.close()  # one initiator per session in a process
    monkeypatch.setenv("ORDERGATE_FIX_CONFIG", str(rig.block.config))
    monkeypatch.setenv("ORDERGATE_FIX_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("ORDERGATE_FIX_PASSWORD", PASSWORD)
    monkeypatch.setenv("ORDERGATE_FIX_JOURNAL", str(rig.directory / "j2.db"))
    paper = load_settings(exec_broker_adapter="fix", mode="PAPER")
    logons = rig.counterparty.received.copy()
    with pytest.raises(ConfigError, match="MODE=LIVE"):
        registry.build_broker_from_registry(paper, SystemClock())
    assert rig.counterparty.received == logons, "a PAPER engine logged on to the session"
    live = load_settings(exec_broker_adapter="fix", mode="LIVE", account_id=ACCOUNT)
    adapter = registry.build_broker_from_registry(live, SystemClock())
    try:
        assert adapter.fetch_account().account_id == ACCOUNT
        assert getattr(adapter, "stream_up", False)
    finally:
        adapter.close()  # type: ignore[attr-defined]
    rig.adapter = rig.new_adapter()


def test_nothing_but_the_adapter_imports_quickfix(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['quickfix'] = None\n"
        "import ordergate.cli, ordergate.brokers.fix.plugin, ordergate.brokers.fix.cli\n"
        "import ordergate.brokers.fix.settings\n"
        "from ordergate.brokers.fix import plugin\n"
        "try:\n"
        "    from ordergate.config import load_settings\n"
        "    s = load_settings(mode='LIVE')\n"
        "    plugin.build(plugin.FixSettings.load(config=sys.argv[1]), s, None)\n"
        "except ImportError as exc:\n"
        "    print('needs quickfix:', exc)\n"
    )
    config = initiator_settings(tmp_path, 1)
    done = subprocess.run(
        [sys.executable, "-c", code, str(config)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "needs quickfix" in done.stdout
