"""Structured logs: JSON, one event per line, ids bound per request, secrets redacted.

:func:`configure_logging` is called once by the process entry point (``ordergate
serve``), never at import. It routes both structlog loggers (the engine's) and the
standard library's (uvicorn's) through the same processor chain, so every line a
running service writes is JSON with a timestamp, a level and — where known — the
``order_id`` and ``idempotency_key`` it concerns, and every line passes the one
:class:`~ordergate.obs.redact.Redactor`.

Ids are bound with :func:`bind_ids` (structlog context variables): they follow the
request into the worker thread the engine runs in, because the thread pool copies
the caller's context.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import Processor

from ordergate.obs.redact import Redactor

_HANDLER_NAME = "ordergate-json"


def _processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]


def configure_logging(
    redactor: Redactor, *, level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Send every log line of the process to ``stream`` (stdout) as redacted JSON."""
    out = stream or sys.stdout
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    shared = _processors()
    structlog.configure(
        processors=[
            *shared[:1],
            structlog.stdlib.filter_by_level,
            *shared[1:],
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redactor,  # the one place: structlog's lines and uvicorn's alike
            structlog.processors.JSONRenderer(default=str, sort_keys=False),
        ],
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        noisy = logging.getLogger(name)
        noisy.handlers.clear()
        noisy.propagate = True


def bind_ids(**ids: Any) -> None:
    """Put ids (``order_id``, ``idempotency_key``) on every later line of this context."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v})


def clear_ids() -> None:
    structlog.contextvars.clear_contextvars()
