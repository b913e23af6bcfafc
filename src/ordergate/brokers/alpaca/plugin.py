"""The ``alpaca`` entry point: the settings block and the factory."""

from __future__ import annotations

from ordergate.brokers.alpaca.adapter import AlpacaBroker
from ordergate.brokers.alpaca.settings import AlpacaSettings
from ordergate.brokers.registry import BrokerPlugin
from ordergate.clock import Clock
from ordergate.config import Settings
from ordergate.domain.errors import ConfigError


def build_alpaca(block: AlpacaSettings, settings: Settings, clock: Clock) -> AlpacaBroker:
    if block.api_key is None or block.secret_key is None:
        raise ConfigError(
            "the alpaca adapter needs ORDERGATE_ALPACA_API_KEY and ORDERGATE_ALPACA_SECRET_KEY "
            "(paper keys when ORDERGATE_ALPACA_PAPER is true, the default)"
        )
    timeout_ms = block.timeout_ms or settings.exec_timeout_ms
    return AlpacaBroker(
        api_key=block.api_key.get_secret_value(),
        secret_key=block.secret_key.get_secret_value(),
        paper=block.paper,
        base_url=block.base_url,
        stream_url=block.stream_url,
        data_url=block.data_url,
        timeout=timeout_ms / 1000,
        rate_limit=block.rate_limit,
        rate_window_s=block.rate_window_s,
        reconnect_min_s=block.reconnect_min_s,
        stream=block.stream,
    )


PLUGIN = BrokerPlugin(
    settings=AlpacaSettings, make=build_alpaca, description="Alpaca over alpaca-py (US equities)"
)
