"""A deadline around a blocking broker call (``EXEC_TIMEOUT_MS``, default 2000).

Adapters that speak a socket set their own socket timeouts (the exchange adapter
does); this guard is the backstop for SDKs that can block for ever. The call runs on a
daemon thread; when the deadline passes the caller gets :class:`BrokerTimeout` — the
outcome is *unknown*, and the thread is left to finish on its own (a thread cannot be
killed). What it returns afterwards is dropped: the order is settled by looking it up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from ordergate.domain.errors import BrokerTimeout

T = TypeVar("T")


class _Outcome(Generic[T]):
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


def call_with_timeout(fn: Callable[[], T], seconds: float, operation: str = "call") -> T:
    """Run ``fn``; raise :class:`BrokerTimeout` if it has not returned in ``seconds``."""
    outcome: _Outcome[T] = _Outcome()

    def run() -> None:
        try:
            outcome.value = fn()
        except BaseException as exc:  # handed to the caller's thread below
            outcome.error = exc
        finally:
            outcome.done.set()

    worker = threading.Thread(target=run, name=f"broker-{operation}", daemon=True)
    worker.start()
    if not outcome.done.wait(seconds):
        raise BrokerTimeout(
            f"broker {operation} did not answer within {seconds * 1000:.0f} ms; outcome unknown",
            context={"operation": operation, "timeout_ms": int(seconds * 1000)},
        )
    if outcome.error is not None:
        raise outcome.error
    return outcome.value  # type: ignore[return-value]
