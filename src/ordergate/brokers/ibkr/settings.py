"""The ``ibkr`` block: ``ORDERGATE_IBKR_*`` over the settings file's ``ibkr:`` mapping."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ordergate.brokers.settings import AdapterSettings


class ContractSpec(BaseModel):
    """How one of our symbols is found at IB when it is not a stock on SMART in the
    default currency (futures and FX, or a stock on another venue)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sec_type: Literal["STK", "FUT", "CASH"] = "STK"
    #: IB's symbol (``ES`` for a future, ``EUR`` for EUR.USD); default: ours
    symbol: str | None = None
    exchange: str | None = None
    currency: str | None = None
    #: a future's expiry, ``YYYYMM`` or ``YYYYMMDD``
    last_trade: str = ""
    multiplier: str = ""
    local_symbol: str = ""


class IbkrSettings(AdapterSettings):
    """Interactive Brokers (``ibkr:``, ``ORDERGATE_IBKR_*``)."""

    model_config = SettingsConfigDict(env_prefix="ORDERGATE_IBKR_")
    block: ClassVar[str] = "ibkr"

    #: TWS or IB Gateway (4001/4002 Gateway live/paper, 7496/7497 TWS live/paper)
    host: str = "127.0.0.1"
    port: int = Field(4002, gt=0, lt=65536)
    #: IB binds an order to the client id that placed it: one process per id
    client_id: int = Field(1, ge=0)
    #: the IB account number (a secret: it never appears in logs, receipts or errors)
    account: SecretStr
    #: connecting and the start-up synchronisation, in seconds
    connect_timeout_s: float = Field(10.0, gt=0)
    #: how long a submit waits for IB's answer (default: ``exec_timeout_ms``)
    reply_timeout_ms: int | None = Field(None, gt=0)
    #: the ledger of IB order ids (default: beside the SQLite database)
    ids_file: Path | None = None
    exchange: str = "SMART"
    currency: str = "USD"
    #: symbols that are not stocks on ``exchange`` in ``currency``
    contracts: dict[str, ContractSpec] = Field(default_factory=dict)
    #: an execution waits this long for its commission report before it is reported
    commission_wait_s: float = Field(5.0, ge=0)
    #: seconds between reconnection attempts after the socket drops
    reconnect_s: float = Field(2.0, gt=0)
    #: messages per second sent to TWS (IB's limit: 50, every message counted)
    max_messages_per_s: int = Field(45, gt=0, le=50)
    #: the lot the gates use where the contract details say nothing finer
    default_lot: Decimal = Decimal(1)
