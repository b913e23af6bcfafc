"""Credentials out of everything the adapter says: errors, receipts, the SDK's log.

``kiteconnect`` with ``debug=True`` logs every request with its headers, and the
``Authorization`` header is ``token <api_key>:<access_token>``. :meth:`Redactor.guard`
puts a filter on the SDK's logger that replaces every known credential (API key and
secret, every access token seen) before any handler formats the record.
"""

from __future__ import annotations

import logging
import threading

MASK = "***"


class Redactor:
    """Known secrets, and text with them masked. Call it: ``redactor(text)``."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *secrets: str | None) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if s and len(s) >= 4)

    def __call__(self, text: object) -> str:
        out = str(text)
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            out = out.replace(secret, MASK)
        return out

    def guard(self, logger: logging.Logger) -> None:
        """Mask the secrets in every record ``logger`` (and its children) emits."""
        logger.addFilter(_Filter(self))
        for handler in logger.handlers:
            handler.addFilter(_Filter(self))


class _Filter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor(record.getMessage())
        record.args = ()
        return True
