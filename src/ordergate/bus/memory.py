"""The in-process event bus: the default, with nothing to install or run.

Events reach subscribers after the unit of work that wrote them commits. A subscriber
that raises is logged and skipped; it never fails the order that emitted the event.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger("ordergate.bus")


@dataclass(frozen=True, slots=True)
class Event:
    """A published event: full topic (with prefix), key (usually the order id), payload."""

    topic: str
    key: str | None
    payload: dict[str, Any]


Handler = Callable[[Event], None]


class InProcessBus:
    def __init__(self, prefix: str = "ordergate.") -> None:
        self.prefix = prefix
        self._subs: list[tuple[str, Handler]] = []
        self._lock = threading.Lock()

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for topics matching the glob ``pattern`` (``orders.*``, ``*``).

        The pattern is matched without the prefix. Returns a function that unsubscribes.
        """
        entry = (pattern, handler)
        with self._lock:
            self._subs.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subs:
                    self._subs.remove(entry)

        return unsubscribe

    def has_subscribers(self, topic: str) -> bool:
        """True when a subscription matches ``topic`` (so a payload is worth building)."""
        with self._lock:
            return any(p == "*" or fnmatch.fnmatchcase(topic, p) for p, _ in self._subs)

    def publish(self, topic: str, key: str | None, payload: dict[str, Any]) -> None:
        with self._lock:
            subs = [h for p, h in self._subs if p == "*" or fnmatch.fnmatchcase(topic, p)]
        if not subs:
            return
        event = Event(self.prefix + topic, key, payload)
        for handler in subs:
            try:
                handler(event)
            except Exception:
                log.exception("event handler failed", topic=event.topic, key=key)
