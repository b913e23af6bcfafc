"""The registry entry: ``kite = "ordergate.brokers.kite.plugin:PLUGIN"``."""

from __future__ import annotations

from pathlib import Path

from ordergate.brokers.registry import BrokerPlugin
from ordergate.clock import Clock
from ordergate.config import Settings

from .settings import KiteSettings


def token_file_for(block: KiteSettings, settings: Settings) -> Path | None:
    """The token file: the block's, else beside the SQLite database (none in memory)."""
    if block.token_file is not None:
        return block.token_file
    path = settings.sqlite_path
    if path in (None, ":memory:"):
        return None
    return Path(str(path) + ".kite-token")


def build(block: KiteSettings, settings: Settings, clock: Clock) -> object:
    from .adapter import KiteBroker  # the SDK is imported only when kite is used

    timeout_ms = block.timeout_ms or settings.exec_timeout_ms
    return KiteBroker(block, timeout=timeout_ms / 1000, token_file=token_file_for(block, settings))


PLUGIN = BrokerPlugin(settings=KiteSettings, make=build, description="Zerodha Kite Connect v3")  # type: ignore[arg-type]
