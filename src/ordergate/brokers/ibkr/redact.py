"""Keep the IB account number and the block's secrets out of every log line.

ib_async logs what it sends and receives (``>>> 3,7,…,DU1234567,…`` at DEBUG) and every
trade it sees (``openOrder: Trade(… account='DU1234567' …)`` at INFO). A filter on each
of its loggers rewrites a record that names a secret before any handler sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

#: ib_async's loggers (a filter on a logger does not see its children's records)
IB_LOGGERS = (
    "ib_async",
    "ib_async.client",
    "ib_async.wrapper",
    "ib_async.ib",
    "ib_async.Decoder",
    "ib_async.IBC",
    "ib_async.Watchdog",
    "ib_async.flexreport",
)
MASK = "***"


class Redactor:
    """Replaces each secret (longest first) with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        known = set(self._secrets) | {s for s in secrets if s}
        self._secrets = sorted(known, key=len, reverse=True)

    @property
    def secrets(self) -> list[str]:
        return list(self._secrets)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


class _Filter(logging.Filter):
    def __init__(self) -> None:
        super().__init__("ordergate.ibkr")
        self.redactor = Redactor(())

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redactor(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if clean != message:
            record.msg, record.args = clean, None
        return True


#: one filter on each ib_async logger, holding every adapter's secrets
_FILTER = _Filter()


def install(redactor: Redactor) -> None:
    """Filter every ib_async logger through ``redactor``'s secrets too."""
    _FILTER.redactor.add(redactor.secrets)
    for name in IB_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
