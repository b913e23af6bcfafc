"""Labelled places where a crash test may kill this process on purpose.

``ORDERGATE_CRASH_AT=after_send`` makes :func:`crashpoint` ``("after_send")`` send
SIGKILL to its own process — no ``finally``, no flush, exactly like a power cut of
the engine. ``ORDERGATE_CRASH_SKIP=n`` lets the first ``n`` passes live, so a sweep can
kill the engine at the n-th order. Unset (always, outside crash tests), it costs one
environment lookup.
"""

from __future__ import annotations

import os
import signal
import threading

CRASH_AT_ENV = "ORDERGATE_CRASH_AT"
CRASH_SKIP_ENV = "ORDERGATE_CRASH_SKIP"

_lock = threading.Lock()
_passes: dict[str, int] = {}


def crashpoint(label: str) -> None:
    """Die here with SIGKILL when the crash test asked for ``label``."""
    if os.environ.get(CRASH_AT_ENV) != label:
        return
    with _lock:
        seen = _passes.get(label, 0)
        _passes[label] = seen + 1
    if seen >= int(os.environ.get(CRASH_SKIP_ENV, "0")):
        os.kill(os.getpid(), signal.SIGKILL)
