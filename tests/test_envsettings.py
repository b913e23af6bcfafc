"""Settings from the environment over a file, without pydantic-settings (issue 21)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from ordergate.brokers.builtin import PaperSettings
from ordergate.config import Settings, load_settings
from ordergate.domain.errors import ConfigError
from ordergate.envsettings import EnvConfigDict, EnvSettings


class Block(EnvSettings):
    model_config = EnvConfigDict(env_prefix="OG_TEST_")

    name: str = "x"
    count: int = 1
    ratio: Decimal = Decimal("0.5")
    on: bool = False
    tags: frozenset[str] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def file_values(cls) -> dict[str, Any]:
        return {"name": "from-file", "count": 2, "extra": {"a": 1, "b": 1}}


def test_defaults_then_the_file_then_the_environment_then_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (Block().name, Block().count) == ("from-file", 2)
    monkeypatch.setenv("og_test_COUNT", "7")  # names match without regard to case
    monkeypatch.setenv("OG_TEST_RATIO", "0.25")
    monkeypatch.setenv("OG_TEST_ON", "true")
    monkeypatch.setenv("OG_TEST_TAGS", '["a", "b"]')  # a set: JSON
    monkeypatch.setenv("OG_TEST_EXTRA", '{"b": 2}')  # a mapping: merged key by key
    block = Block(name="given")
    assert block.name == "given"
    assert (block.count, block.ratio, block.on) == (7, Decimal("0.25"), True)
    assert block.tags == frozenset({"a", "b"})
    assert block.extra == {"a": 1, "b": 2}
    assert Block(count=9).count == 9


def test_a_set_that_is_not_json_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OG_TEST_TAGS", "a,b")
    with pytest.raises(ConfigError, match="OG_TEST_TAGS must be JSON"):
        Block()


def test_ordergate_settings_and_an_adapter_block_read_env_and_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "og.yaml"
    config.write_text("exec_timeout_ms: 1500\npaper:\n  persistent: false\n")
    monkeypatch.setenv("ORDERGATE_CONFIG", str(config))
    monkeypatch.setenv("ORDERGATE_EXEC_MAX_RETRIES", "3")
    monkeypatch.setenv("ORDERGATE_PAPER_TRADABLE", '["aapl"]')
    settings = load_settings()
    assert (settings.exec_timeout_ms, settings.exec_max_retries) == (1500, 3)
    paper = PaperSettings.load()
    assert paper.persistent is False
    assert paper.tradable == frozenset({"aapl"})
    monkeypatch.setenv("ORDERGATE_EXEC_TIMEOUT_MS", "-1")
    with pytest.raises(ConfigError, match="exec_timeout_ms"):
        load_settings()
    with pytest.raises(ConfigError, match="no_such_key"):
        load_settings(no_such_key=1)
    assert isinstance(settings, Settings)
