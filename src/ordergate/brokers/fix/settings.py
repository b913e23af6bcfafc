"""The ``fix:`` block (``ORDERGATE_FIX_*``): a QuickFIX session file plus our options.

The session file (``config``) is QuickFIX's own: SenderCompID, TargetCompID,
SocketConnectHost/Port, HeartBtInt, the schedule, FileStorePath. What QuickFIX does not
know lives here: the account (tag 1), the symbol map (ours → the counterparty's 55), the
optional tags the counterparty expects on a NewOrderSingle, the logon credentials (553 /
554, secrets: set in ``toAdmin``, never logged) and what the counterparty guarantees
(dedupe, status requests), which become the adapter's capabilities.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from ordergate.brokers.settings import AdapterSettings


class FixSettings(AdapterSettings):
    """The FIX adapter's block; every default is the safe side."""

    model_config = SettingsConfigDict(env_prefix="ORDERGATE_FIX_")
    block: ClassVar[str] = "fix"

    #: the QuickFIX session settings file (initiator; one order session)
    config: Path | None = None
    #: Account (tag 1) on every order; also what ``fetch_account`` reports
    account: str = "default"
    #: Username (553) and Password (554) on the Logon, from secrets
    username: SecretStr | None = None
    password: SecretStr | None = None
    #: our symbol → the counterparty's Symbol (55); unmapped symbols go as they are
    symbols: dict[str, str] = Field(default_factory=dict)
    #: extra tags the counterparty expects on every NewOrderSingle (e.g. {"21": "1"})
    order_tags: dict[int, str] = Field(default_factory=dict)
    #: where the journal of reports lives (default: beside FileStorePath)
    journal: Path | None = None
    #: how long a request waits for its answer (default: ``exec_timeout_ms``)
    timeout_ms: int | None = Field(None, gt=0)
    #: how long ``start`` waits for the first logon
    logon_timeout_s: float = Field(10.0, gt=0)
    #: the counterparty refuses a repeated ClOrdID (103=6) for as long as it keeps the
    #: order; the adapter then answers with the existing order (dedupe ALWAYS)
    dedupe: bool = False
    #: for how many hours ClOrdIDs are remembered (None: as long as the order is kept)
    dedupe_window_h: float | None = Field(None, gt=0)
    #: the counterparty answers OrderStatusRequest (35=H)
    status_requests: bool = True
    #: its "unknown order" (103=5) proves it never received the order
    unknown_order_conclusive: bool = False
    #: the cash the account started with (FIX order sessions carry no balances)
    starting_cash: Decimal = Decimal("1000000")
    currency: str = "USD"

    @field_validator("order_tags")
    @classmethod
    def _no_session_tags(cls, tags: dict[int, str]) -> dict[int, str]:
        owned = {1, 11, 38, 40, 41, 44, 54, 55, 59, 60, 99, 126, 553, 554}
        clash = sorted(set(tags) & owned)
        if clash:
            raise ValueError(f"tags {clash} are set by the adapter itself")
        return tags
