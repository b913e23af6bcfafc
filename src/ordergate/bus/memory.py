"""The in-process event bus: the default, with nothing to install or run.

Events reach subscribers after the unit of work that wrote them commits. A subscriber
that raises is logged and skipped; it never fails the order that emitted the event.

Which handlers a topic reaches is worked out once per topic (glob matching is the
costly part) and kept until the next subscribe or unsubscribe, so a publish — and
:meth:`InProcessBus.has_subscribers`, which the engine asks before it builds a payload
— is a dictionary look-up.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger("ordergate.bus")

#: Topics are a small fixed vocabulary; past this many the route cache starts over, so
#: a caller inventing topics cannot grow it without bound.
MAX_ROUTES = 1024


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
        #: topic -> the handlers it reaches, in subscription order. Replaced (never
        #: cleared in place) on every change of ``_subs``, under the lock, so a reader
        #: without the lock sees either the old mapping or the new one, never a mix.
        self._routes: dict[str, tuple[Handler, ...]] = {}

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for topics matching the glob ``pattern`` (``orders.*``, ``*``).

        The pattern is matched without the prefix. Returns a function that unsubscribes.
        """
        entry = (pattern, handler)
        with self._lock:
            self._subs.append(entry)
            self._routes = {}

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subs:
                    self._subs.remove(entry)
                    self._routes = {}

        return unsubscribe

    def has_subscribers(self, topic: str) -> bool:
        """True when a subscription matches ``topic`` (so a payload is worth building).
        Asked for every event an order records: a route already resolved is read here."""
        handlers = self._routes.get(topic)
        return bool(handlers if handlers is not None else self._handlers(topic))

    def publish(self, topic: str, key: str | None, payload: dict[str, Any]) -> None:
        handlers = self._handlers(topic)
        if not handlers:
            return
        event = Event(self.prefix + topic, key, payload)
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                log.exception("event handler failed", topic=event.topic, key=key)

    def _handlers(self, topic: str) -> tuple[Handler, ...]:
        handlers = self._routes.get(topic)
        if handlers is not None:
            return handlers
        with self._lock:
            # resolved and stored under the lock: a subscribe cannot slip in between
            # and leave a stale route in the new mapping
            handlers = tuple(h for p, h in self._subs if p == "*" or fnmatch.fnmatchcase(topic, p))
            if len(self._routes) >= MAX_ROUTES:
                self._routes = {}
            self._routes[topic] = handlers
        return handlers
