"""IB's error codes onto ours, most specific first (a table, one function).

IB answers an order with ``error(reqId=orderId, code, text)``. ib_async counts 2100-2199
and a handful of codes as *warnings*: the order stays live (BROKERS.md B2). Everything
else ends the order. Per code, what it says about the order:

- not received, safe to send again → :class:`BrokerUnavailable`
  (502 "couldn't connect", 504 "not connected", 1100 "connectivity lost", 100 pacing);
- a definitive no → :class:`BrokerRejected` (201 rejected, 200 no security
  definition, 103 duplicate order id, 110 off the price increment, 10147/10148/161
  cancel of an unknown or final order, 104 modify of a filled order …);
- anything else on an order → :class:`BrokerRejected` as well: IB ended the order.

The text is IB's own, redacted (account numbers, secrets) by the caller.
"""

from __future__ import annotations

from collections.abc import Callable

from ib_async import RequestError

from ordergate.domain.errors import (
    BrokerError,
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
    OrderGateError,
)

#: ib_async's warning codes (wrapper.py): the order stays live
WARNING_CODES = frozenset({105, 110, 165, 321, 329, 399, 404, 434, 492, 10167})
#: TWS lost IB's servers / got them back with data lost / with data kept
LOST, RESTORED_DATA_LOST, RESTORED_DATA_KEPT = 1100, 1101, 1102
CLIENT_ID_IN_USE = 326
CANCEL_CONFIRMED = 202

_NOT_RECEIVED = frozenset({100, 502, 504, 1100, 2110})
_TABLE: tuple[tuple[frozenset[int], type[BrokerError]], ...] = (
    (_NOT_RECEIVED, BrokerUnavailable),
    (frozenset({103, 104, 110, 161, 200, 201, 203, 10147, 10148}), BrokerRejected),
)


def is_warning(code: int) -> bool:
    """IB's warnings and notices leave the order live."""
    return code in WARNING_CODES or 2100 <= code < 2200


def order_error(code: int, text: str) -> BrokerError:
    """Our error for IB's ``code`` about an order (``text`` already redacted)."""
    message = f"IB error {code}: {text}"
    for codes, kind in _TABLE:
        if code in codes:
            return kind(message, context={"ib_code": code})
    return BrokerRejected(message, context={"ib_code": code})


def sdk_error(exc: BaseException, redact: Callable[[str], str]) -> OrderGateError:
    """Ours for an exception ib_async raised, most specific first: IB's own error for
    a request by its code; a socket not connected (ib_async writes nothing then) as
    not received; a timeout as unknown; anything else as unknown too."""
    if isinstance(exc, OrderGateError):
        return exc
    if isinstance(exc, RequestError):
        return order_error(exc.code, redact(exc.message))
    if isinstance(exc, TimeoutError):  # before OSError, its base class
        return BrokerTimeout("IB did not answer in time; the outcome is unknown")
    if isinstance(exc, ConnectionError | OSError):
        return BrokerUnavailable(f"the IB API socket is not connected ({redact(str(exc))})")
    return BrokerTimeout(f"ib_async failed ({type(exc).__name__}: {redact(str(exc))})")
