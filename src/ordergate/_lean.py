"""structlog without the integrations ordergate does not use, imported once, first.

``import structlog`` imports ``structlog.twisted`` (all of Twisted, when the kite extra
has installed it) and, in ``structlog.dev``, rich's console and traceback renderer (with
pygments): ~50 ms of every start, a fifth of a one-shot ``ordergate submit`` (issue 21).
ordergate renders its lines as JSON (:mod:`ordergate.obs.logging`) and runs no Twisted
reactor, so neither is needed. :func:`import_structlog` imports structlog with those two
modules marked absent — structlog's own ``ImportError`` fallbacks then apply
(``structlog.twisted`` is ``None``; ``structlog.dev`` formats tracebacks as plain
text) — and takes the marks away at once, so ``rich.traceback`` (or
``structlog.twisted``) still imports normally for whoever asks for it later.
Called from ``ordergate/__init__.py``, ahead of every module that logs; a process that
imported structlog before ordergate keeps structlog as it is.
"""

from __future__ import annotations

import sys

#: what structlog imports only to offer it, and ordergate never asks for
SKIPPED = ("structlog.twisted", "rich.traceback")


def import_structlog() -> None:
    if "structlog" in sys.modules:
        return
    marked = [name for name in SKIPPED if name not in sys.modules]
    for name in marked:
        sys.modules[name] = None  # type: ignore[assignment]  # "not installed", for now
    try:
        import structlog  # noqa: F401
    finally:
        for name in marked:
            if sys.modules.get(name) is None:
                del sys.modules[name]
