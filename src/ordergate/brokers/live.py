"""LIVE is never reached by accident (DESIGN.md).

An adapter that is not a simulator trades a real account — or the broker's own paper
account, which is just as live against that account — so it needs ``MODE=LIVE``; and
in LIVE the account the broker reports must be the ``account_id`` configured.
"""

from __future__ import annotations

from ordergate.brokers.base import BrokerAdapter
from ordergate.config import Settings
from ordergate.domain.enums import TradingMode
from ordergate.domain.errors import BrokerError, ConfigError


def check_mode(settings: Settings, name: str, simulated: bool) -> None:
    """Refuse (:class:`ConfigError`, saying why) a broker that trades a real account
    outside LIVE. Needs no adapter: the registry runs it before the factory, which may
    connect to the broker."""
    if settings.mode is not TradingMode.LIVE and not simulated:
        raise ConfigError(
            f"broker adapter {name!r} trades a real account, but the mode is "
            f"{settings.mode}: set ORDERGATE_MODE=LIVE and ORDERGATE_ACCOUNT_ID to the "
            "broker's account to trade it, or pick a simulated adapter",
            context={"adapter": name, "mode": settings.mode},
        )


def check_live_account(settings: Settings, adapter: BrokerAdapter) -> None:
    """Refuse (:class:`ConfigError`, saying why) a real broker outside LIVE, and in
    LIVE a broker whose account is not the configured one or cannot be confirmed."""
    name = adapter.adapter_id
    check_mode(settings, name, adapter.capabilities.simulated)
    if settings.mode is not TradingMode.LIVE:
        return
    try:
        reported = adapter.fetch_account().account_id
    except BrokerError as exc:
        raise ConfigError(
            f"LIVE: cannot confirm the account at broker {name!r} ({exc.message}); "
            "refusing to start",
            context={"adapter": name},
        ) from exc
    if reported != settings.account_id:
        raise ConfigError(
            f"LIVE: broker {name!r} reports account {reported!r}, but account_id is "
            f"{settings.account_id!r}; refusing to start (set ORDERGATE_ACCOUNT_ID="
            f"{reported} if that is the account to trade)",
            context={"adapter": name, "reported": reported, "configured": settings.account_id},
        )
