"""Which names mark a credential: one documented list, for masking input and output alike.

A key whose name contains one of :data:`CREDENTIAL_WORDS` (case-insensitive, anywhere in
the name: ``broker_api_key``, ``X-Auth-Token``, ``DB_Password``) holds a credential.
Intent metadata under such a key is masked before the intent is recorded
(:mod:`ordergate.domain.intent`), and log lines, events and error bodies mask it on the
way out (:mod:`ordergate.obs.redact`). The match is deliberately wide: ``tokens_used``
is masked too, which costs a metadata value and never leaks a secret.
"""

from __future__ import annotations

import re

#: The words (regular expressions) that make a key name a credential's.
CREDENTIAL_WORDS: tuple[str, ...] = (
    r"passw(or)?d",
    r"passphrase",
    r"secret",
    r"token",
    r"api[_-]?key",
    r"access[_-]?key",
    r"private[_-]?key",
    r"authori[sz]ation",
    r"credential",
    r"cookie",
)
CREDENTIAL_KEY = re.compile("|".join(f"(?:{word})" for word in CREDENTIAL_WORDS), re.IGNORECASE)
#: What a masked value becomes.
MASK = "***"


def is_credential_key(key: object) -> bool:
    """True when ``key`` is a name under which a credential would be kept."""
    return isinstance(key, str) and CREDENTIAL_KEY.search(key) is not None
