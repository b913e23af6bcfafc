"""Redaction: the one place where credentials are scrubbed from anything we emit.

Every path out of the process that could carry a secret goes through a
:class:`Redactor`: log lines (as a structlog processor), HTTP error bodies, and the
events the service streams. Two rules, applied together:

- a value whose *key* names a credential (``token``, ``password``, ``api_key``,
  ``authorization``, ``secret`` …) is replaced by ``***`` whatever it is;
- any known secret *value* (the API token, broker keys from the settings) is cut out
  of every string, wherever it appears — in a message, a repr, a nested payload.

Keeping both rules in one object means a new output path needs one call, not a new
list of patterns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from ordergate.domain.credentials import CREDENTIAL_KEY, MASK, is_credential_key

#: Key names whose values are always masked: the one list of
#: :mod:`ordergate.domain.credentials` (case-insensitive, anywhere in the key).
SENSITIVE_KEY = CREDENTIAL_KEY
#: Bearer credentials in free text (an echoed header, a URL) even when the value is unknown.
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
#: ``api_key=abc123`` or ``password: hunter2`` inside free text: the key kept, the value masked.
_KEY_VALUE = re.compile(
    r"(?i)\b([\w-]*(?:passw(?:or)?d|passphrase|secret|token|api[_-]?key|authori[sz]ation|"
    r"credential|private[_-]?key|cookie)[\w-]*)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
)
#: Secrets shorter than this are not scrubbed by value: masking "a" everywhere would
#: destroy every log line while protecting nothing (such a token is refused anyway).
MIN_SECRET_LENGTH = 6
_MAX_DEPTH = 12


class Redactor:
    """Scrubs known secret values and credential-named keys from text and structures."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        """Learn more secret values (longest first, so a secret inside another goes too)."""
        known = set(self._secrets)
        known.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)
        self._secrets = tuple(sorted(known, key=len, reverse=True))

    def text(self, value: str) -> str:
        """``value`` with every known secret and every bearer credential masked."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        if "earer" in value or "EARER" in value:
            value = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", value)
        return value

    def reason(self, value: str) -> str:
        """A broker's free-text reason as we keep it (seed 000: "include broker reason in
        redacted form"): known secrets and bearer credentials masked, and the value of
        any credential-named ``key=value`` or ``key: value`` pair in it."""
        value = self.text(value)
        if "=" in value or ":" in value:
            value = _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", value)
        return value

    def contains_secret(self, value: str) -> bool:
        """True when a known secret value appears in ``value`` (input to refuse)."""
        return any(secret in value for secret in self._secrets)

    def scrub(self, value: Any, _depth: int = 0) -> Any:
        """A copy of ``value`` (mappings, sequences, strings) with secrets masked."""
        if isinstance(value, str):
            return self.text(value)
        if _depth > _MAX_DEPTH:
            return MASK
        if isinstance(value, Mapping):
            return {
                k: MASK if _sensitive(k) else self.scrub(v, _depth + 1) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.scrub(v, _depth + 1) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.text(str(value))

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """The structlog processor: every log line passes here before it is rendered."""
        for key in list(event_dict):
            event_dict[key] = MASK if _sensitive(key) else self.scrub(event_dict[key])
        return event_dict


def _sensitive(key: object) -> bool:
    return is_credential_key(key)
