"""Kite's postbacks: ``checksum = sha256(order_id + order_timestamp + api_secret)``.

A postback needs a public URL registered with Kite; where it is enabled, each one is
verified here before it is believed, and then only makes the adapter read that order
(with its trades) at once: the books stay the truth, a postback is a nudge.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any


def postback_checksum(order_id: str, order_timestamp: str, api_secret: str) -> str:
    return hashlib.sha256((order_id + order_timestamp + api_secret).encode()).hexdigest()


def verify_postback(payload: Mapping[str, Any], api_secret: str) -> bool:
    """True when the payload's checksum is Kite's for our API secret."""
    if not api_secret:
        return False
    order_id, ts, given = (payload.get(k) for k in ("order_id", "order_timestamp", "checksum"))
    if not (isinstance(order_id, str) and isinstance(ts, str) and isinstance(given, str)):
        return False
    return hmac.compare_digest(postback_checksum(order_id, ts, api_secret), given)
