"""The two adapters that ship with ordergate, as registry plugins: ``paper`` and
``exchange`` (registered in ordergate's own ``pyproject.toml`` like anyone's).

Their keys that predate the registry stay where they were (the paper venue's fees and
slippage, ``exchange_url``: seed 003's and ordergate's top-level keys); the blocks hold
what is the adapter's alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ordergate.brokers.paper import PaperBroker
from ordergate.brokers.registry import BrokerPlugin
from ordergate.brokers.settings import AdapterSettings
from ordergate.clock import Clock
from ordergate.config import Settings
from ordergate.sim.costs import CostConfig
from ordergate.sim.tif import Session

if TYPE_CHECKING:  # its HTTP client loads with the adapter, not with the paper broker
    from ordergate.brokers.exchange import ExchangeBroker


class PaperSettings(AdapterSettings):
    """The paper broker's block (``paper:``, ``ORDERGATE_PAPER_*``)."""

    model_config = SettingsConfigDict(env_prefix="ORDERGATE_PAPER_")
    block: ClassVar[str] = "paper"

    #: keep the paper book in a file, so that separate commands share one account
    persistent: bool = True
    #: that file (default: the SQLite database's path + ``.paper``; none for PostgreSQL)
    state_file: Path | None = None
    #: the symbols the paper broker trades (default: any); others are rejected
    tradable: frozenset[str] | None = None


def build_paper(block: PaperSettings, settings: Settings, clock: Clock) -> PaperBroker:
    state_file = block.state_file
    path = settings.sqlite_path
    if state_file is None and block.persistent and path not in (None, ":memory:"):
        state_file = Path(str(path) + ".paper")
    costs = CostConfig.from_settings(settings)  # the same names a backtest reads
    return PaperBroker(
        clock=clock,
        fill_model=costs.fills(),
        fee_model=costs.fees(),
        latency=costs.latency(),
        starting_cash=settings.paper_starting_cash,
        tradable=None if block.tradable is None else frozenset(s.upper() for s in block.tradable),
        state_file=state_file if block.persistent else None,
        session=(
            None
            if settings.paper_session_close is None
            else Session(close=settings.paper_session_close, tz=settings.paper_session_tz)
        ),
    )


class ExchangeSettings(AdapterSettings):
    """The simulated exchange's block (``exchange:``, ``ORDERGATE_EXCHANGE_*``)."""

    model_config = SettingsConfigDict(env_prefix="ORDERGATE_EXCHANGE_")
    block: ClassVar[str] = "exchange"

    #: where the exchange listens (default: the top-level ``exchange_url``)
    url: str | None = None
    #: per-request timeout (default: ``exec_timeout_ms``)
    timeout_ms: int | None = Field(None, gt=0)
    #: the exchange dedupes client ids unless it was started with ``dedupe=false``
    dedupe: bool = True
    #: trust a look-up miss as "never received" (see ``exchange_capabilities``)
    lookup_miss_conclusive: bool = False
    #: only this account's orders and positions (default: every account)
    account_id: str | None = None
    #: follow the report stream (off: tracking polls)
    stream: bool = True
    #: how long one long poll of the stream waits, in seconds
    stream_wait_s: float = Field(1.0, gt=0)


def build_exchange(block: ExchangeSettings, settings: Settings, clock: Clock) -> ExchangeBroker:
    from ordergate.brokers.exchange import ExchangeBroker

    timeout_ms = block.timeout_ms or settings.exec_timeout_ms
    return ExchangeBroker(
        block.url or settings.exchange_url,
        timeout=timeout_ms / 1000,
        dedupes_client_order_id=block.dedupe,
        lookup_miss_conclusive=block.lookup_miss_conclusive,
        stream=block.stream,
        stream_wait=block.stream_wait_s,
        account_id=block.account_id,
    )


PAPER = BrokerPlugin(
    settings=PaperSettings,
    make=build_paper,
    description="in-process simulated broker",
    simulated=True,
)
EXCHANGE = BrokerPlugin(
    settings=ExchangeSettings,
    make=build_exchange,
    description="the simulated exchange process (ordergate exchange)",
    simulated=True,
)
