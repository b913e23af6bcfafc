"""ccxt's own debug log carries the request headers — the API key among them — and
signed query strings. A filter on ccxt's logger masks them before any handler sees
the line (found by ``test_no_credential_in_logs_receipts_or_errors``)."""

from __future__ import annotations

import logging
import re
import threading

_SIGNATURE = re.compile(r"signature=[0-9A-Za-z%]+")
#: the logger ccxt's base exchange writes to (``logging.getLogger(__name__)``)
CCXT_LOGGER = "ccxt.base.exchange"


class CredentialFilter(logging.Filter):
    """Masks every known credential (and request signatures) in a record."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *secrets: str) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        masked = _SIGNATURE.sub("signature=**********", text)
        for secret in secrets:
            masked = masked.replace(secret, "**********")
        if masked != text:
            record.msg, record.args = masked, ()
        return True


_FILTER = CredentialFilter()
logging.getLogger(CCXT_LOGGER).addFilter(_FILTER)


def mask(*secrets: str) -> None:
    """Keep these out of ccxt's log lines from now on."""
    _FILTER.add(*secrets)
