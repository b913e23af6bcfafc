"""The ``alpaca:`` block (``ORDERGATE_ALPACA_*``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ordergate.brokers.settings import AdapterSettings


class AlpacaSettings(AdapterSettings):
    """Alpaca's settings; the URLs default to Alpaca's own (paper or live)."""

    model_config = SettingsConfigDict(env_prefix="ORDERGATE_ALPACA_")
    block: ClassVar[str] = "alpaca"

    api_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    #: Alpaca's paper account (still ``MODE=LIVE`` for ordergate: it is a real account)
    paper: bool = True
    #: the trading REST root (``url_override`` of the trading client), e.g. a local fake
    base_url: str | None = None
    #: the ``trade_updates`` websocket (``url_override`` of the trading stream)
    stream_url: str | None = None
    #: the market-data REST root (``url_override`` of the data client)
    data_url: str | None = None
    #: per-request timeout (default: ``exec_timeout_ms``)
    timeout_ms: int | None = Field(None, gt=0)
    #: Alpaca's limit: requests per window, every call counted (orders, polls, look-ups)
    rate_limit: int = Field(200, gt=0)
    rate_window_s: float = Field(60.0, gt=0)
    #: the stream's first reconnect delay (alpaca-py backs off from here up to 30 s)
    reconnect_min_s: float = Field(1.0, gt=0)
    #: follow the ``trade_updates`` stream (off: order tracking polls)
    stream: bool = True
