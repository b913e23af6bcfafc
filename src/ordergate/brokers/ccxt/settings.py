"""The ``ccxt:`` block (``ORDERGATE_CCXT_*``)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ordergate.brokers.settings import AdapterSettings


class CcxtSettings(AdapterSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERGATE_CCXT_")
    block: ClassVar[str] = "ccxt"

    #: the ccxt exchange id (``binance``, ``okx`` …)
    exchange: str = "binance"
    api_key: SecretStr | None = None
    secret: SecretStr | None = None
    #: a JSON object deep-merged into the exchange's ``urls`` (every endpoint to a fake)
    urls: dict[str, Any] | None = None
    #: the unified symbols traded (``BTC/USDT``): polled for fills, scanned by look-ups
    symbols: list[str] = Field(default_factory=list)
    #: the currency cash is counted in (default: the quote of the first symbol)
    cash_currency: str | None = None
    #: how often open orders and trades are polled, in seconds (Binance: 6000 weight a
    #: minute; one poll of one symbol costs ~26, so 1 s leaves room for trading)
    poll_interval_s: float = Field(1.0, gt=0)
    timeout_ms: int | None = Field(None, gt=0)
    #: our queue above ccxt's own rate limiter (which stays on)
    rate_limit: int = Field(600, gt=0)
    rate_window_s: float = Field(60.0, gt=0)
