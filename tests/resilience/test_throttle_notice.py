"""A caller held by the throttle is told how long it waits (issue 21)."""

from __future__ import annotations

from structlog.testing import capture_logs

from ordergate.resilience import FakeTimer, TokenBucket, WindowThrottle


def test_the_121st_order_of_a_minute_is_told_its_wait() -> None:
    timer = FakeTimer()
    throttle = WindowThrottle(120, 60.0, timer=timer)
    with capture_logs() as logs:
        for _ in range(120):
            assert throttle.acquire() == 0.0
        timer.advance(5.0)
        waited = throttle.acquire()
    assert waited == 55.0
    [line] = logs
    assert line["log_level"] == "warning"
    assert line["wait_s"] == 55.0
    assert line["limiter"] == "order throttle"
    assert "waiting 55.0 s" in line["event"]
    assert "120 in any 60 s" in line["event"]


def test_the_pacing_of_a_burst_is_not_logged() -> None:
    timer = FakeTimer()
    bucket = TokenBucket(20, timer=timer)
    with capture_logs() as logs:
        for _ in range(25):
            bucket.acquire()  # waits of 50 ms: the rate limit's normal pacing
    assert logs == []
