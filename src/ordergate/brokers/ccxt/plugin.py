"""The ``ccxt`` entry point: the settings block and the factory."""

from __future__ import annotations

from ordergate.brokers.ccxt.adapter import CcxtBroker
from ordergate.brokers.ccxt.settings import CcxtSettings
from ordergate.brokers.registry import BrokerPlugin
from ordergate.clock import Clock
from ordergate.config import Settings
from ordergate.domain.errors import ConfigError


def build_ccxt(block: CcxtSettings, settings: Settings, clock: Clock) -> CcxtBroker:
    if block.api_key is None or block.secret is None:
        raise ConfigError("the ccxt adapter needs ORDERGATE_CCXT_API_KEY and ORDERGATE_CCXT_SECRET")
    timeout_ms = block.timeout_ms or settings.exec_timeout_ms
    return CcxtBroker(
        exchange=block.exchange,
        api_key=block.api_key.get_secret_value(),
        secret=block.secret.get_secret_value(),
        symbols=block.symbols,
        urls=block.urls,
        cash_currency=block.cash_currency,
        timeout=timeout_ms / 1000,
        poll_interval_s=block.poll_interval_s,
        rate_limit=block.rate_limit,
        rate_window_s=block.rate_window_s,
    )


PLUGIN = BrokerPlugin(
    settings=CcxtSettings, make=build_ccxt, description="crypto exchanges over ccxt (Binance spot)"
)
