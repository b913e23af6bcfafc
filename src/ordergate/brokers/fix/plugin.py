"""The ``fix`` entry of the ``ordergate.brokers`` group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ordergate.brokers.fix.settings import FixSettings
from ordergate.brokers.live import check_live_account
from ordergate.brokers.registry import BrokerPlugin
from ordergate.clock import Clock
from ordergate.config import Settings
from ordergate.domain.errors import ConfigError

if TYPE_CHECKING:
    from ordergate.brokers.fix.adapter import FixBroker


def build(block: FixSettings, settings: Settings, clock: Clock) -> FixBroker:
    """Build the adapter, check the mode and the account, and only then log on: a FIX
    session is a live one, and a PAPER engine must not even log on to it (the registry
    checks again after the factory, by when a logon would have happened). QuickFIX is
    imported only here."""
    from ordergate.brokers.fix.adapter import FixBroker

    timeout_ms = block.timeout_ms or settings.exec_timeout_ms
    broker = FixBroker(block, timeout=timeout_ms / 1000)
    try:
        check_live_account(settings, broker)
    except ConfigError:
        broker.close()
        raise
    broker.start()
    return broker


PLUGIN = BrokerPlugin(settings=FixSettings, make=build, description="FIX 4.4 over QuickFIX")
