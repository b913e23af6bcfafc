"""Kite's errors onto ours: one table, most specific first (docs/adapters.md).

What each says about an order we tried to place (``writes``) or a read:

=====================================  =====================  ==========================
raised                                 a write (place ...)    a read
=====================================  =====================  ==========================
HTTP 429 (any type)                    BrokerUnavailable      BrokerUnavailable
TokenException (403)                   SessionExpired         SessionExpired
PermissionException (403)              BrokerRejected         BrokerUnavailable
InputException (400)                   BrokerRejected         BrokerUnavailable
OrderException; any other 4xx          BrokerRejected         BrokerUnavailable
NetworkException (503),
DataException (502), other 5xx         BrokerTimeout          BrokerUnavailable
connect refused / connect timeout      BrokerUnavailable      BrokerUnavailable
read timeout, dropped connection       BrokerTimeout          BrokerUnavailable
=====================================  =====================  ==========================

A 503 from Kite is "between Kite and the exchange's OMS": the order may have gone
through, so on a write it is *unknown* (settled by finding its tag), never "not
received". 429 is refused before anything is done. Kite's ``MarginException`` and
``HoldingException`` have no class in the SDK (5.2.2): they arrive as
``GeneralException`` with HTTP 400, hence the rule by HTTP code.
"""

from __future__ import annotations

from typing import Any

import requests
from kiteconnect import exceptions as kex
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from ordergate.domain.errors import (
    BrokerError,
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
)

__all__ = ["SessionExpired", "map_kite_error"]


class SessionExpired(BrokerUnavailable):
    """Kite refused the access token (``TokenException``): it expires every day. Nothing
    was done; the session guard trips its kill switch and sends nothing more until a
    new token is installed."""


_DEFINITIVE = (kex.InputException, kex.OrderException, kex.PermissionException)


def _never_connected(exc: BaseException) -> bool:
    """True when the request provably never reached Kite (refused, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: BaseException | None = exc
    depth = 0
    while seen is not None and depth < 8:
        if isinstance(seen, NewConnectionError | ConnectTimeoutError | ConnectionRefusedError):
            return True
        for arg in getattr(seen, "args", ()):
            if isinstance(arg, NewConnectionError | ConnectTimeoutError):
                return True
        reason = getattr(seen, "reason", None)
        if isinstance(reason, NewConnectionError | ConnectTimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
        depth += 1
    return False


def map_kite_error(exc: Exception, *, op: str, writes: bool, scrub: Any = str) -> BrokerError:
    """Our error for ``exc`` raised by the SDK during ``op`` (``writes``: it places,
    changes or cancels an order). ``scrub`` redacts credentials from the message."""
    context = {"operation": op}
    message = scrub(str(exc))
    if isinstance(exc, kex.KiteException):
        code = getattr(exc, "code", 500)
        kind = type(exc).__name__
        if code == 429:
            return BrokerUnavailable(f"Kite: too many requests ({message})", context=context)
        if isinstance(exc, kex.TokenException):
            return SessionExpired(
                f"Kite refused the access token ({message}); it expires daily: install a new "
                "one (ordergate kite token set, or POST /v1/brokers/kite/token)",
                context=context,
            )
        definitive = isinstance(exc, _DEFINITIVE) or (
            400 <= code < 500 and not isinstance(exc, kex.NetworkException | kex.DataException)
        )
        if definitive:
            if writes:
                return BrokerRejected(f"Kite {kind}: {message}", context=context)
            return BrokerUnavailable(f"Kite {kind} on {op}: {message}", context=context)
        if writes:
            return BrokerTimeout(
                f"Kite {kind} ({code}) on {op}: {message}; outcome unknown", context=context
            )
        return BrokerUnavailable(f"Kite {kind} ({code}) on {op}: {message}", context=context)
    if isinstance(exc, requests.exceptions.RequestException):
        if _never_connected(exc):
            return BrokerUnavailable(f"cannot reach Kite: {message}", context=context)
        if writes:
            return BrokerTimeout(
                f"no answer from Kite on {op}: {message}; outcome unknown", context=context
            )
        return BrokerUnavailable(f"no answer from Kite on {op}: {message}", context=context)
    if writes:
        return BrokerTimeout(
            f"unexpected error on {op}: {message}; outcome unknown", context=context
        )
    return BrokerUnavailable(f"unexpected error on {op}: {message}", context=context)
