"""The in-process bus: glob routing, its per-topic cache, ``has_subscribers``."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from ordergate.bus import memory
from ordergate.bus.memory import Event, InProcessBus


def collect(bus: InProcessBus, pattern: str) -> tuple[list[Event], Callable[[], None]]:
    seen: list[Event] = []
    return seen, bus.subscribe(pattern, seen.append)


def test_patterns_match_without_the_prefix_and_star_matches_all() -> None:
    bus = InProcessBus(prefix="og.")
    orders, _ = collect(bus, "orders.*")
    every, _ = collect(bus, "*")
    exact, _ = collect(bus, "market.mark")
    bus.publish("orders.filled", "o1", {"n": 1})
    bus.publish("market.mark", "AAPL", {"n": 2})
    assert [(e.topic, e.key, e.payload) for e in orders] == [("og.orders.filled", "o1", {"n": 1})]
    assert [e.topic for e in every] == ["og.orders.filled", "og.market.mark"]
    assert [e.topic for e in exact] == ["og.market.mark"]


def test_handlers_run_in_subscription_order() -> None:
    bus = InProcessBus()
    calls: list[str] = []
    bus.subscribe("*", lambda e: calls.append("first"))
    bus.subscribe("orders.*", lambda e: calls.append("second"))
    bus.subscribe("orders.filled", lambda e: calls.append("third"))
    bus.publish("orders.filled", None, {})
    assert calls == ["first", "second", "third"]


def test_has_subscribers_follows_subscribe_and_unsubscribe() -> None:
    bus = InProcessBus()
    assert not bus.has_subscribers("orders.filled")  # cached as "nobody"
    unsubscribe = bus.subscribe("orders.*", lambda e: None)
    assert bus.has_subscribers("orders.filled")  # the cache was dropped
    assert not bus.has_subscribers("market.mark")
    unsubscribe()
    assert not bus.has_subscribers("orders.filled")
    unsubscribe()  # a second call is harmless
    assert not bus.has_subscribers("orders.filled")


def test_a_cached_route_is_dropped_when_a_subscription_is_added_or_removed() -> None:
    bus = InProcessBus()
    first, _ = collect(bus, "orders.*")
    bus.publish("orders.filled", None, {"n": 1})  # caches the route: [first]
    second, stop_second = collect(bus, "orders.filled")
    bus.publish("orders.filled", None, {"n": 2})
    stop_second()
    bus.publish("orders.filled", None, {"n": 3})
    assert [e.payload["n"] for e in first] == [1, 2, 3]
    assert [e.payload["n"] for e in second] == [2]


def test_unsubscribe_removes_only_its_own_subscription() -> None:
    bus = InProcessBus()
    seen: list[Event] = []
    stop_one = bus.subscribe("orders.*", seen.append)
    bus.subscribe("orders.*", seen.append)  # the same handler twice
    bus.publish("orders.filled", None, {})
    stop_one()
    bus.publish("orders.filled", None, {})
    assert len(seen) == 3


def test_a_raising_handler_is_logged_and_skipped() -> None:
    bus = InProcessBus()

    def boom(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe("*", boom)
    after, _ = collect(bus, "*")
    bus.publish("orders.filled", "o1", {})
    assert [e.key for e in after] == ["o1"]


def test_no_subscriber_means_no_event_is_built() -> None:
    bus = InProcessBus()
    bus.publish("orders.filled", "o1", {"n": 1})  # nothing to call: no error
    assert not bus.has_subscribers("orders.filled")


def test_the_route_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "MAX_ROUTES", 4)
    bus = InProcessBus()
    seen, _ = collect(bus, "t.*")
    for i in range(10):
        bus.publish(f"t.{i}", None, {})
        assert len(bus._routes) <= 4
    assert len(seen) == 10


def test_subscribing_while_publishing_from_other_threads() -> None:
    bus = InProcessBus()
    counts = [0]
    lock = threading.Lock()

    def count(event: Event) -> None:
        with lock:
            counts[0] += 1

    stop = threading.Event()

    def publisher() -> None:
        while not stop.is_set():
            bus.publish("orders.filled", None, {})

    threads = [threading.Thread(target=publisher) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        unsubscribes = [bus.subscribe("orders.*", lambda e: None) for _ in range(200)]
        for unsubscribe in unsubscribes:
            unsubscribe()
        bus.subscribe("orders.filled", count)
    finally:
        stop.set()
        for t in threads:
            t.join()
    # once every change is done, every publish reaches exactly the one subscriber left
    before = counts[0]
    bus.publish("orders.filled", None, {})
    assert counts[0] == before + 1
    assert bus.has_subscribers("orders.filled")
    assert not bus.has_subscribers("market.mark")
