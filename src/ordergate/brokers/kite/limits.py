"""Kite's published rate limits, each call queued for its slot (never a 429 to the
caller): orders per second and per minute, other requests per second, quotes per
second."""

from __future__ import annotations

from ordergate.resilience.ratelimit import WindowThrottle
from ordergate.resilience.timing import Timer

from .settings import KiteSettings

#: the calls that place, change or cancel an order (Kite's order limits)
ORDER_OPS = frozenset({"submit", "modify", "cancel"})
#: the calls under Kite's quote limit
QUOTE_OPS = frozenset({"fetch_quote"})
#: each window is held this much longer than Kite's, so that jitter on the way (one
#: request delayed, the next not) never lands N+1 requests in one of Kite's windows
WINDOW_MARGIN_S = 0.1


class KiteLimits:
    """The throttles of one adapter; :meth:`acquire` waits for an operation's slot."""

    def __init__(self, settings: KiteSettings, timer: Timer | None) -> None:
        second, minute = 1.0 + WINDOW_MARGIN_S, 60.0 + WINDOW_MARGIN_S
        self.orders_second = WindowThrottle(
            settings.orders_per_second, second, timer=timer, name="kite orders per second"
        )
        self.orders_minute = WindowThrottle(
            settings.orders_per_minute, minute, timer=timer, name="kite orders per minute"
        )
        self.requests = WindowThrottle(
            settings.requests_per_second, second, timer=timer, name="kite requests per second"
        )
        self.quotes = WindowThrottle(
            settings.quotes_per_second, second, timer=timer, name="kite quotes per second"
        )

    def acquire(self, op: str) -> None:
        if op in ORDER_OPS:
            self.orders_minute.acquire()
            self.orders_second.acquire()
        elif op in QUOTE_OPS:
            self.quotes.acquire()
        else:
            self.requests.acquire()

    def answered(self, op: str) -> None:
        """The call ``op`` was answered (or failed): its slots count from now."""
        if op in ORDER_OPS:
            self.orders_minute.answered()
            self.orders_second.answered()
        elif op in QUOTE_OPS:
            self.quotes.answered()
        else:
            self.requests.answered()
