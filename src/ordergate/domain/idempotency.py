"""Idempotency keys and their attempts (DESIGN.md, submit path step 2).

A key returns the outcome it first got — except a rejection whose code does not keep
the key (the error table's ``keeps_key``: validation, and conditions a retry can cure
before anything was sent — no market data yet, a full queue, an open circuit). Such a
key is free again: the same request sent later is a new attempt, recorded as a new
intent and order, while the earlier attempt stays in the append-only record.

Attempt *n* > 1 is stored under ``key + "\x1e" + n``: a control character no user key
may contain (intent validation refuses them), so it never collides with a key anyone
sends; the order keeps the key as sent, and its client order id (derived from the
stored key) is new, so a broker never confuses the attempts.
"""

from __future__ import annotations

from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ErrorCode

ATTEMPT_SEPARATOR = "\x1e"


def attempt_key(key: str, attempt: int) -> str:
    """The key attempt ``attempt`` of ``key`` is stored under."""
    return key if attempt == 1 else f"{key}{ATTEMPT_SEPARATOR}{attempt}"


def sent_key(stored: str) -> str:
    """The key as the caller sent it, from the key an attempt is stored under."""
    return stored.split(ATTEMPT_SEPARATOR, 1)[0]


def releases_key(status: OrderStatus, error_code: str) -> bool:
    """True when an order ended so that its key is free for the same request again."""
    if status not in (OrderStatus.REJECTED, OrderStatus.FAILED) or not error_code:
        return False
    try:
        return not ErrorCode[error_code].keeps_key
    except KeyError:
        return False
