"""The ``ibkr`` entry point: the settings block and the factory."""

from __future__ import annotations

from pathlib import Path

from ordergate.brokers.ibkr.adapter import IbkrBroker
from ordergate.brokers.ibkr.settings import IbkrSettings
from ordergate.brokers.registry import BrokerPlugin
from ordergate.clock import Clock
from ordergate.config import Settings
from ordergate.domain.errors import ConfigError


def ids_file_for(block: IbkrSettings, settings: Settings) -> Path:
    """The ledger's file: the block's ``ids_file``, else beside the SQLite database."""
    if block.ids_file is not None:
        return block.ids_file
    path = settings.sqlite_path
    if path in (None, ":memory:"):
        raise ConfigError(
            "the ibkr adapter keeps IB order ids in a file written before each placeOrder: "
            "set ORDERGATE_IBKR_IDS_FILE (the database is not a SQLite file)"
        )
    return Path(f"{path}.ibkr-{block.client_id}.ids")


def build(block: IbkrSettings, settings: Settings, clock: Clock) -> IbkrBroker:
    timeout_ms = block.reply_timeout_ms or settings.exec_timeout_ms
    return IbkrBroker(
        block,
        account_label=settings.account_id,
        timeout=timeout_ms / 1000,
        ids_file=ids_file_for(block, settings),
    )


PLUGIN = BrokerPlugin(
    settings=IbkrSettings, make=build, description="Interactive Brokers (TWS / IB Gateway)"
)
