"""ccxt's errors onto ours, the exchange's own code read first (one table).

=======================================================  ==========================
what ccxt raised                                         ours
=======================================================  ==========================
``InvalidOrder`` carrying Binance -2010 "Duplicate        :class:`DuplicateOrder`:
order sent.", or ``DuplicateOrderId``                    the order exists, adopt it
``OrderNotFound``                                        :class:`NotFound`
``DDoSProtection`` (HTTP 429 on Binance), its            BrokerUnavailable: not taken
``RateLimitExceeded``
``RequestTimeout``, ``NetworkError``, ``BadResponse``      on a write BrokerTimeout
(Binance -1007 "send status unknown")                    (unknown), on a read
                                                         BrokerUnavailable
``InsufficientFunds``, ``InvalidOrder``, any other         BrokerRejected, never
``ExchangeError`` (``AuthenticationError`` included)      retried
=======================================================  ==========================
"""

from __future__ import annotations

import json
import re

import ccxt

from ordergate.domain.errors import BrokerError, BrokerRejected, BrokerTimeout, BrokerUnavailable

_JSON = re.compile(r"\{.*\}", re.DOTALL)
#: Binance's "a client order id is open already"
_DUPLICATE = ("Duplicate order sent",)


class NotFound(BrokerRejected):
    """The exchange has no such order."""


class DuplicateOrder(BrokerRejected):
    """The exchange has an open order under this client id: adopt it by look-up."""


def exchange_code(exc: Exception) -> tuple[str | None, str]:
    """The exchange's own (code, message) from the JSON ccxt quotes in its error."""
    text = str(exc)
    match = _JSON.search(text)
    if match:
        try:
            body = json.loads(match.group(0))
        except ValueError:
            body = None
        if isinstance(body, dict):
            code = body.get("code")
            return (None if code is None else str(code)), str(body.get("msg") or text)
    return None, text


_QUERY = re.compile(r"\?\S*")


def translate(exc: Exception, *, operation: str, writes: bool) -> BrokerError:
    context = {"operation": operation}
    code, message = exchange_code(exc)
    message = _QUERY.sub("?...", message)  # a signed URL's query stays out of errors
    if code is not None:
        context["exchange_code"] = code
    if isinstance(exc, ccxt.DuplicateOrderId) or (
        isinstance(exc, ccxt.InvalidOrder) and any(d in message for d in _DUPLICATE)
    ):
        return DuplicateOrder(f"the exchange has this order already: {message}", context=context)
    if isinstance(exc, ccxt.OrderNotFound):
        return NotFound(f"the exchange has no such order: {message}", context=context)
    if isinstance(exc, ccxt.DDoSProtection):
        return BrokerUnavailable(
            f"the exchange throttled the request ({type(exc).__name__}): not taken",
            context=context,
        )
    if isinstance(exc, ccxt.NetworkError | ccxt.BadResponse):
        what = f"no clear answer from the exchange ({type(exc).__name__}: {message[:200]})"
        if writes:
            return BrokerTimeout(f"{what}; the outcome is unknown", context=context)
        return BrokerUnavailable(what, context=context)
    if isinstance(exc, ccxt.InsufficientFunds):
        return BrokerRejected(f"insufficient funds: {message}", context=context)
    if isinstance(exc, ccxt.BaseError):
        return BrokerRejected(f"the exchange refused it: {message}", context=context)
    return BrokerTimeout(
        f"unexpected {type(exc).__name__} from ccxt; the outcome is unknown", context=context
    )
