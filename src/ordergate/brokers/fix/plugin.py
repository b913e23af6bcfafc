"""The ``fix`` entry of the ``ordergate.brokers`` group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ordergate.brokers.fix.settings import FixSettings
from ordergate.brokers.registry import BrokerPlugin
from ordergate.clock import Clock
from ordergate.config import Settings

if TYPE_CHECKING:
    from ordergate.brokers.fix.adapter import FixBroker


def build(block: FixSettings, settings: Settings, clock: Clock) -> FixBroker:
    """Build the adapter and log on (QuickFIX is imported only here)."""
    from ordergate.brokers.fix.adapter import FixBroker

    timeout_ms = block.timeout_ms or settings.exec_timeout_ms
    broker = FixBroker(block, timeout=timeout_ms / 1000)
    broker.start()
    return broker


PLUGIN = BrokerPlugin(settings=FixSettings, make=build, description="FIX 4.4 over QuickFIX")
