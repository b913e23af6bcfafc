"""Which recorded intent an idempotency key names now: the latest attempt, unless an
earlier one ended in a way that keeps the key (see ``domain/idempotency.py``)."""

from __future__ import annotations

from ordergate.domain.errors import IdempotencyConflict
from ordergate.domain.idempotency import attempt_key, releases_key
from ordergate.engine.recorder import Step
from ordergate.store.base import StoredIntent

#: the most attempts one key may make before the engine refuses to look further
MAX_ATTEMPTS = 1000


def current_intent(step: Step, account_id: str, key: str) -> tuple[StoredIntent | None, int]:
    """The intent ``key`` names now, or None with the attempt number a new one takes."""
    tx = step.tx
    for attempt in range(1, MAX_ATTEMPTS + 1):
        existing = tx.find_intent(account_id, attempt_key(key, attempt))
        if existing is None:
            return None, attempt
        order = tx.get_order(existing.order_id)
        if order is None or not releases_key(order.status, order.error_code):
            return existing, attempt
    raise IdempotencyConflict(
        f"idempotency key {key!r} was refused {MAX_ATTEMPTS} times; use a new key",
        context={"idempotency_key": key},
    )
