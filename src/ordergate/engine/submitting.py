"""Sending one order to the broker: attempts, retries, and never a duplicate.

Every failed attempt is an order event (``SubmitAttemptFailed``, topic
``orders.submit_attempt``) with its number and error. What happens next depends on
what the failure says about the order:

- **rejected** — a definitive no: ``REJECTED`` with the broker's reason;
- **circuit open** — not sent: ``FAILED`` with ``E_EXEC_CIRCUIT_OPEN`` (unless an
  earlier attempt may have arrived); the alert ``ops.broker.circuit_open`` is recorded
  once when the breaker opens (``resilience/escalation.py``), not per refused order;
- **unavailable** (refused, 503, 429) — not received: safe to send again;
- **timeout**, a lost reply, an unknown error — *maybe* received: the order is looked
  up by ``client_order_id`` first. Found → adopted (the receipt was only lost). Not
  found → not received, safe to send again. The look-up itself failed → sent again
  only when the broker dedupes on ``client_order_id``; otherwise the order stays
  ``SUBMITTED`` and tracking or recovery settles it. Never assume a reject.

Retries follow the engine's :class:`~ordergate.resilience.retry.RetryPolicy`
(seed 001: 1 s, 2 s, 4 s). When they are spent on attempts that provably did not
arrive, the order is ``FAILED`` with ``E_EXEC_RETRIES_EXHAUSTED``; an order that may
have arrived is never failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from ordergate.brokers.base import BrokerOrder, OrderRequest
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import (
    BrokerError,
    BrokerRejected,
    BrokerTimeout,
    ErrorCode,
    OrderGateError,
)
from ordergate.domain.events import (
    OrderFailed,
    OrderRejected,
    SubmitAttemptFailed,
)

if TYPE_CHECKING:
    from ordergate.domain.order import Order
    from ordergate.engine.engine import ExecutionEngine, Settled

log = structlog.get_logger("ordergate.engine")
_SENDABLE = (OrderStatus.PENDING, OrderStatus.SUBMITTED)


#: What one call to the broker's submit came to: its receipt, an error that leaves the
#: outcome open (retry, look-up), or None when the order was already settled here
#: (rejected, refused before the call).
Attempt = BrokerOrder | BrokerError | None


def attempt_submit(engine: ExecutionEngine, order: Order, request: OrderRequest) -> Attempt:
    """Call the broker once; record a definitive answer (a reject, a full queue) at once."""
    try:
        return engine.policy.call("submit", lambda: engine.broker.submit(request))
    except BrokerRejected as exc:
        _record_reject(engine, order, exc)
        return None
    except BrokerError as exc:
        return exc
    except OrderGateError as exc:
        if exc.code is not ErrorCode.E_EXEC_QUEUE_FULL:
            raise
        fail_unsent(engine, order, exc.code, exc.message)  # refused before the call
        return None
    except Exception as exc:  # an adapter bug: the outcome is unknown, never assume
        log.exception("broker submit raised", order_id=order.order_id)
        return BrokerTimeout(f"adapter error: {exc}")


def send_with_retry(
    engine: ExecutionEngine,
    order: Order,
    request: OrderRequest,
    *,
    first: BrokerError | None = None,
) -> Settled | None:
    """Steps 4-7 for one order that is ``SUBMITTED``: call, retry, record.

    ``first`` is the error of a first attempt made elsewhere (a basket's): the loop
    goes on from it, looking the order up before any resend. Returns the order as its
    receipt left it, or None when it ended otherwise (rejected, failed, unknown): the
    caller then reads it from the store.
    """
    retry = engine.retry
    attempt = first_attempt = max(order.attempts, 1)
    maybe_received = False
    outcome: Attempt = first
    while True:
        if outcome is None:
            outcome = attempt_submit(engine, order, request)
            if outcome is None:
                return None
        if isinstance(outcome, BrokerOrder):
            # the order as we recorded it, unless a failed attempt was recorded since
            known = order if attempt == first_attempt else None
            return engine.apply_broker_view(outcome, known)
        error, outcome = outcome, None

        if error.code is ErrorCode.E_EXEC_CIRCUIT_OPEN:
            if maybe_received:
                _record_attempt(engine, order, attempt, error, "may have arrived earlier")
            else:
                fail_unsent(engine, order, error.code, error.message)
            return None
        spent = attempt > retry.max_retries
        note = "no retries left" if spent else f"retry {attempt} in {retry.delay(attempt):g}s"
        _record_attempt(engine, order, attempt, error, note)
        if error.code is not ErrorCode.E_EXEC_BROKER_UNAVAILABLE:
            view, looked = _look_up(engine, request.client_order_id)
            if view is not None:
                return engine.apply_broker_view(view)  # it arrived: only the answer was lost
            if not looked:
                if not engine.broker.dedupes_client_order_id:
                    return None  # unknown, and a resend could duplicate: tracking settles it
                maybe_received = True
            elif not error.code.retryable:
                fail_unsent(engine, order, error.code, error.message)
                return None
        if spent:
            if not maybe_received:
                code = ErrorCode.E_EXEC_RETRIES_EXHAUSTED if retry.max_retries else error.code
                fail_unsent(
                    engine, order, code, f"{attempt} attempt(s) failed; last: {error.message}"
                )
            return None
        retry.wait_before(attempt)
        attempt += 1


def _look_up(engine: ExecutionEngine, client_order_id: str) -> tuple[BrokerOrder | None, bool]:
    """(the broker's view or None, whether the look-up got an answer)."""
    try:
        view = engine.policy.call("fetch_order", lambda: engine.broker.fetch_order(client_order_id))
    except BrokerError as exc:
        log.warning("look-up after a failed submit failed", error=str(exc))
        return None, False
    return view, True


def _record_attempt(
    engine: ExecutionEngine, order: Order, attempt: int, error: BrokerError, note: str
) -> None:
    with engine._step() as step:
        current = engine._reload(step, order.order_id)
        if current.status in _SENDABLE:
            message = f"{error.message} ({note})"
            event = SubmitAttemptFailed(
                ts=engine.clock.now(), attempt=attempt, code=error.code, message=message
            )
            step.record(current, event)


def _record_reject(engine: ExecutionEngine, order: Order, exc: BrokerRejected) -> None:
    with engine._step() as step:
        current = engine._reload(step, order.order_id)
        if current.status is OrderStatus.SUBMITTED:
            event = OrderRejected(ts=engine.clock.now(), code=exc.code, message=exc.message)
            step.record(current, event)


def fail_unsent(engine: ExecutionEngine, order: Order, code: ErrorCode, message: str) -> None:
    """Definitely not received by the broker: ``FAILED``, with the code that says why."""
    with engine._step() as step:
        current = engine._reload(step, order.order_id)
        if current.status in _SENDABLE:
            step.record(current, OrderFailed(ts=engine.clock.now(), code=code, message=message))
