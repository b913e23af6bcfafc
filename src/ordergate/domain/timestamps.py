"""ISO 8601 text of a time, remembered for the last few times asked.

One order writes the same instant many times — created, updated, submitted, the time
of each event, in rows, payloads and the audit chain — and ``datetime.isoformat`` is
about a microsecond each. The memo compares by identity (a datetime never changes, and
the memo holds it, so its id cannot be reused) and keeps the last two instants.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ordergate.domain.errors import InvalidIntent

#: one slot holding (newest, its text, the one before, its text), replaced whole so
#: that a thread never sees one time paired with another's text
_memo: list[tuple[datetime | None, str, datetime | None, str]] = [(None, "", None, "")]


def iso(ts: datetime) -> str:
    """``ts.isoformat()``, from the memo when ``ts`` is one of the last two asked."""
    memo = _memo[0]
    if memo[0] is ts:
        return memo[1]
    if memo[2] is ts:
        return memo[3]
    text = ts.isoformat()
    _memo[0] = (ts, text, memo[0], memo[1])
    return text


def iso_utc(ts: datetime) -> str:
    """The time in UTC as ISO 8601 (naive times as they are)."""
    if ts.tzinfo is UTC or ts.tzinfo is None:
        return iso(ts)
    return ts.astimezone(UTC).isoformat()


def parse_time(value: object, field: str) -> datetime:
    """A time a user sent (a datetime, or ISO 8601 text; ``Z`` for UTC), or
    :class:`~ordergate.domain.errors.InvalidIntent` naming ``field``."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise InvalidIntent(field, "must be an ISO 8601 time")
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidIntent(field, f"must be an ISO 8601 time, got {value!r}") from None
