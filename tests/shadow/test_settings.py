"""Where shadow mode runs, and where its store is."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordergate.config import load_settings
from ordergate.domain.enums import TradingMode
from ordergate.domain.errors import ConfigError
from ordergate.shadow.twin import shadow_settings


def test_the_twin_store_is_beside_the_real_one_with_its_own_prefix(tmp_path: Path) -> None:
    real = load_settings(
        database_url=f"sqlite:///{tmp_path / 'live.db'}", mode=TradingMode.LIVE, shadow=True
    )
    twin = shadow_settings(real)
    assert twin.database_url == f"sqlite:///{tmp_path / 'live.shadow.db'}"
    assert (twin.mode, twin.shadow, twin.risk_enabled) == (TradingMode.PAPER, False, False)
    assert twin.topic_prefix == "ordergate.shadow."
    chosen = load_settings(
        database_url=f"sqlite:///{tmp_path / 'live.db'}",
        shadow=True,
        shadow_database_url=f"sqlite:///{tmp_path / 'elsewhere.db'}",
    )
    assert shadow_settings(chosen).database_url.endswith("elsewhere.db")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"dry_run": True}, "dry run"),
        ({"mode": "BACKTEST"}, "backtest"),
        ({"database_url": "postgresql://postgres@127.0.0.1:5432/test"}, "shadow_database_url"),
        (
            {"database_url": "sqlite:///x.db", "shadow_database_url": "sqlite:///x.db"},
            "must not be the real",
        ),
    ],
)
def test_shadow_mode_refuses_what_it_cannot_mirror(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        shadow_settings(load_settings(**{"shadow": True, **extra}))
