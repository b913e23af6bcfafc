"""The ``kite:`` block and ``ORDERGATE_KITE_*`` variables (defaults documented here).

Kite's published limits (kite.trade/docs/connect/v3/exceptions, forum 11404): order
placement 10 per second and 200 per minute, other endpoints 10 per second, quotes 1 per
second; over them Kite answers 429 and repeated abuse can block the app. The defaults
below are those limits; every call queues for its slot (the caller never sees a 429).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ordergate.brokers.settings import AdapterSettings

Product = Literal["MIS", "NRML", "CNC", "MTF"]


class KiteSettings(AdapterSettings):
    """Zerodha Kite Connect v3."""

    model_config = SettingsConfigDict(env_prefix="ORDERGATE_KITE_")
    block: ClassVar[str] = "kite"

    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    #: today's access token (it expires every day: install a new one with
    #: ``ordergate kite token set`` or ``POST /v1/brokers/kite/token``, no restart)
    access_token: SecretStr | None = None
    #: the REST base URL (tests point the real SDK at a local fake)
    root: str = "https://api.kite.trade"
    #: per-request timeout in ms (default: ``exec_timeout_ms``)
    timeout_ms: int | None = Field(None, gt=0)
    #: where an installed token is kept (mode 0600), read again when it changes, so a
    #: token set by the CLI reaches a running engine (default: beside the database)
    token_file: Path | None = None
    #: the exchange of a symbol given without one (``INFY`` is ``NSE:INFY``)
    exchange: str = "NSE"
    #: the product of an order whose intent names none and whose symbol has none below:
    #: MIS (intraday), NRML, CNC, MTF
    product: Product = "MIS"
    #: products by symbol (``{"NFO:NIFTY24DECFUT": "NRML"}``)
    products: dict[str, Product] = Field(default_factory=dict)
    #: the variety of an order whose intent names none (regular, amo, iceberg)
    variety: Literal["regular", "amo", "iceberg", "auction"] = "regular"
    #: the legs an ``iceberg`` order is shown in (Kite allows 2-10)
    iceberg_legs: int = Field(5, ge=2, le=10)
    #: market protection for MARKET orders (Kite's ``market_protection``; -1 automatic)
    market_protection: int | None = None
    #: order placement, modify and cancel: at most this many in any second ...
    orders_per_second: int = Field(10, ge=1)
    #: ... and in any minute
    orders_per_minute: int = Field(200, ge=1)
    #: every other endpoint, in any second
    requests_per_second: int = Field(10, ge=1)
    #: quotes (``ltp``/``quote``), in any second
    quotes_per_second: int = Field(1, ge=1)
    #: how often the order book is polled for changes (seconds); polling is primary
    poll_interval_s: float = Field(1.0, gt=0)
    #: subscribe to KiteTicker's order updates (the websocket); polling stays on
    websocket: bool = False
    #: the websocket's URL (tests point the real ``KiteTicker`` at a local fake)
    ws_root: str = "wss://ws.kite.trade"
    #: how often the books are still polled while the websocket is up (seconds): the
    #: socket skips intermediate states and replays nothing
    ws_poll_interval_s: float = Field(15.0, gt=0)
    #: accept Kite's postbacks at ``POST /v1/brokers/kite/postback`` (checksum verified)
    postbacks: bool = False
    #: the SDK's own debug log (requests and answers); credentials are redacted from it
    sdk_debug: bool = False
    #: the order book may lag a placement by this long (seconds): documented, not proof
    book_lag_s: float = Field(5.0, ge=0)
