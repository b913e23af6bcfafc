"""alpaca-py's errors onto ours, by what they say about the order (one table).

==========================================  ===============================  ==============
what came back                              a write (submit, cancel, modify) a read
==========================================  ===============================  ==============
422 ``client_order_id must be unique``      :class:`DuplicateClientId`: the order exists
404                                         :class:`NotFound` (a look-up answers ``None``)
429, 503                                    BrokerUnavailable (not taken)    BrokerUnavailable
500, 502, 504                               BrokerTimeout (unknown)          BrokerUnavailable
other 4xx (403 buying power, 422 …)         BrokerRejected, Alpaca's reason  BrokerRejected
refused / connect timeout                   BrokerUnavailable                BrokerUnavailable
read timeout, dropped reply, garbled body   BrokerTimeout (unknown)          BrokerUnavailable
==========================================  ===============================  ==============

A 504 after Alpaca took the order is the hazard: alpaca-py would retry it and get
"must be unique" back. The adapter switches those retries off (``adapter.py``), so a
504 is *unknown* here, and the engine settles it by looking the order up.
"""

from __future__ import annotations

import json

import requests
from alpaca.common.exceptions import APIError
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from ordergate.domain.errors import BrokerError, BrokerRejected, BrokerTimeout, BrokerUnavailable

_UNIQUE = "must be unique"


class NotFound(BrokerRejected):
    """Alpaca has no such order (404): a look-up answers ``None``, a cancel is refused."""


class DuplicateClientId(BrokerRejected):
    """Alpaca already has an order under this ``client_order_id``: adopt it by look-up."""


def api_reason(exc: APIError) -> str:
    """Alpaca's own words (``message`` of its JSON body), or the body as it came."""
    text = str(exc)
    try:
        body = json.loads(text)
    except ValueError:
        return text[:300] or "no reason given"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return text[:300]


def _connect_failed(exc: requests.exceptions.ConnectionError) -> bool:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    inner = exc.args[0] if exc.args else None
    reason = inner.reason if isinstance(inner, MaxRetryError) else inner
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def translate(exc: Exception, *, operation: str, writes: bool) -> BrokerError:
    """The one mapping; callers ``raise translate(exc, …) from exc``."""
    context = {"operation": operation}
    if isinstance(exc, APIError):
        status = exc.status_code or 0
        reason = api_reason(exc)
        if status == 422 and _UNIQUE in reason:
            return DuplicateClientId(f"Alpaca: {reason}", context=context)
        if status == 404:
            return NotFound(f"Alpaca: {reason}", context=context)
        if status in (429, 503):
            return BrokerUnavailable(
                f"Alpaca answered {status} ({reason}): not taken, send again later",
                context=context,
            )
        if status >= 500:
            if writes:
                return BrokerTimeout(
                    f"Alpaca answered {status} ({reason}); the outcome is unknown until "
                    "the order is looked up",
                    context=context,
                )
            return BrokerUnavailable(f"Alpaca answered {status} ({reason})", context=context)
        return BrokerRejected(f"Alpaca refused it ({status}): {reason}", context=context)
    if isinstance(exc, requests.exceptions.ConnectionError) and _connect_failed(exc):
        return BrokerUnavailable(f"cannot reach Alpaca: {type(exc).__name__}", context=context)
    if isinstance(exc, requests.exceptions.RequestException | ValueError):
        what = f"no clear answer from Alpaca ({type(exc).__name__})"
        if writes:
            return BrokerTimeout(f"{what}; the outcome is unknown", context=context)
        return BrokerUnavailable(what, context=context)
    return BrokerTimeout(
        f"unexpected {type(exc).__name__} from alpaca-py; the outcome is unknown",
        context=context,
    )
