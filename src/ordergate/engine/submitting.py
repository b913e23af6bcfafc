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
  up by ``client_order_id`` first. Found → adopted (the receipt was only lost). The
  resend rule decides the rest from the broker's capabilities: a miss that *proves*
  absence (``lookup_miss_conclusive``) → not received, safe to send again; any other
  miss, or a failed look-up → sent again only when the broker dedupes on
  ``client_order_id`` (``ClientIdDedupe.ALWAYS``); otherwise the order stays
  ``SUBMITTED`` — unknown — and tracking looks it up again and, past a bound, reports
  it for a person. Never resend blind, never assume a reject.

A failure to record anything once the broker may have the order (its receipt, a
reject, a failed attempt that may have arrived) is never "nothing was sent": it is
:class:`~ordergate.domain.errors.SentUnrecorded` with the order's ids, and tracking or
recovery records the broker's answer once the store can write.

Retries follow the engine's :class:`~ordergate.resilience.retry.RetryPolicy`
(seed 001: 1 s, 2 s, 4 s). When they are spent on attempts that provably did not
arrive, the order is ``FAILED`` with ``E_EXEC_RETRIES_EXHAUSTED``; an order that may
have arrived is never failed.
"""

from __future__ import annotations

import json

import structlog

from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import (
    BrokerError,
    BrokerRejected,
    BrokerTimeout,
    ErrorCode,
    OrderGateError,
    PersistenceError,
    SentUnrecorded,
)
from ordergate.domain.events import (
    OrderFailed,
    OrderRejected,
    OrderSubmitted,
    SubmitAttemptFailed,
)
from ordergate.domain.intent import OrderIntent
from ordergate.domain.order import Order
from ordergate.domain.report import ExecutionReport
from ordergate.domain.wire import BrokerOrder, OrderRequest
from ordergate.engine.core import EngineCore, Settled, capabilities_of
from ordergate.engine.updates import apply_broker_view

log = structlog.get_logger("ordergate.engine")
_SENDABLE = (OrderStatus.PENDING, OrderStatus.SUBMITTED)


#: What one call to the broker's submit came to: its receipt, an error that leaves the
#: outcome open (retry, look-up), or None when the order was already settled here
#: (rejected, refused before the call).
Attempt = BrokerOrder | BrokerError | None


#: Errors that prove the broker never received the call.
_NOT_RECEIVED = frozenset({ErrorCode.E_EXEC_CIRCUIT_OPEN, ErrorCode.E_EXEC_BROKER_UNAVAILABLE})


def sent_unrecorded(order: Order, exc: PersistenceError, answer: str) -> SentUnrecorded:
    """The outcome of a send whose answer the store would not take."""
    log.error(
        "order sent but its answer could not be recorded; recovery will record it",
        order_id=order.order_id,
        client_order_id=order.client_order_id,
        broker_answer=answer,
        error=exc.message,
    )
    return SentUnrecorded(
        f"order {order.order_id} was sent to the broker ({answer}) but recording the "
        f"answer failed: {exc.message}",
        context={
            "order_id": order.order_id,
            "client_order_id": order.client_order_id,
            "broker_answer": answer,
        },
    )


def attempt_submit(core: EngineCore, order: Order, request: OrderRequest) -> Attempt:
    """Call the broker once; record a definitive answer (a reject, a full queue) at once."""
    try:
        return core.policy.call("submit", lambda: core.broker.submit(request))
    except BrokerRejected as exc:
        try:
            _record_reject(core, order, exc)
        except PersistenceError as failure:
            raise sent_unrecorded(order, failure, "rejected") from failure
        return None
    except BrokerError as exc:
        return exc
    except OrderGateError as exc:
        if exc.code is not ErrorCode.E_EXEC_QUEUE_FULL:
            raise
        fail_unsent(core, order, exc.code, exc.message)  # refused before the call
        return None
    except Exception as exc:  # an adapter bug: the outcome is unknown, never assume
        log.exception("broker submit raised", order_id=order.order_id)
        return BrokerTimeout(f"adapter error: {exc}")


def send_with_retry(
    core: EngineCore,
    order: Order,
    request: OrderRequest,
    *,
    first: BrokerError | None = None,
) -> Settled | None:
    """Steps 4-7 for one order that is ``SUBMITTED``: call, retry, record.

    ``first`` is the error of a first attempt made elsewhere (a basket's): the loop
    goes on from it, looking the order up before any resend. Returns the order as its
    receipt left it, or None when it ended otherwise (rejected, failed, unknown): the
    caller then reads it from the store. Raises :class:`SentUnrecorded` when the store
    fails once the broker may have the order.
    """
    progress = _Progress(first is not None and first.code not in _NOT_RECEIVED)
    try:
        return _send_loop(core, order, request, first, progress)
    except PersistenceError as exc:
        if not progress.reached:
            raise  # nothing reached the broker: "nothing was sent" is the truth
        raise sent_unrecorded(order, exc, progress.answer) from exc


class _Progress:
    """How far a send got: whether the broker may have the order, and what it said."""

    def __init__(self, reached: bool) -> None:
        self.reached = reached
        self.answer = "unknown" if reached else "not sent"


def _send_loop(
    core: EngineCore,
    order: Order,
    request: OrderRequest,
    first: BrokerError | None,
    progress: _Progress,
) -> Settled | None:
    retry = core.retry
    attempt = first_attempt = max(order.attempts, 1)
    maybe_received = False
    outcome: Attempt = first
    while True:
        if outcome is None:
            outcome = attempt_submit(core, order, request)
            if outcome is None:
                return None
        if isinstance(outcome, BrokerOrder):
            progress.reached, progress.answer = True, str(outcome.status)  # its value
            # the order as we recorded it, unless a failed attempt was recorded since
            known = order if attempt == first_attempt else None
            # a look-up gives the answer back after a crash: the receipt may ride a later
            # group commit (DESIGN.md, "Commits may be shared"); elsewhere it is durable
            defer = capabilities_of(core.broker).may_resend_unknown
            return apply_broker_view(core, outcome, known, defer=defer)
        error, outcome = outcome, None
        if error.code not in _NOT_RECEIVED:
            progress.reached, progress.answer = True, f"unknown after {error.code.name}"

        if error.code is ErrorCode.E_EXEC_CIRCUIT_OPEN:
            if maybe_received:
                _record_attempt(core, order, attempt, error, "may have arrived earlier")
            else:
                fail_unsent(core, order, error.code, error.message)
            return None
        spent = attempt > retry.max_retries
        note = "no retries left" if spent else f"retry {attempt} in {retry.delay(attempt):g}s"
        _record_attempt(core, order, attempt, error, note)
        if error.code is not ErrorCode.E_EXEC_BROKER_UNAVAILABLE:
            view, looked = _look_up(core, request.client_order_id)
            if view is not None:
                progress.answer = view.status.value
                return apply_broker_view(core, view)  # it arrived: only the answer was lost
            caps = capabilities_of(core.broker)
            if not looked or not caps.lookup_miss_conclusive:
                # the outcome is unknown: the resend rule (DESIGN.md) allows a resend only
                # where the broker dedupes by client order id; otherwise the order stays
                # SUBMITTED, is looked up again by tracking and, past a bound, reported
                if not caps.dedupes_client_order_id:
                    return None
                maybe_received = True
            elif not error.code.retryable:
                fail_unsent(core, order, error.code, error.message)
                return None
        if spent:
            if not maybe_received:
                code = ErrorCode.E_EXEC_RETRIES_EXHAUSTED if retry.max_retries else error.code
                fail_unsent(
                    core, order, code, f"{attempt} attempt(s) failed; last: {error.message}"
                )
            return None
        retry.wait_before(attempt)
        attempt += 1


def _look_up(core: EngineCore, client_order_id: str) -> tuple[BrokerOrder | None, bool]:
    """(the broker's view or None, whether the look-up got an answer)."""
    try:
        view = core.policy.call("fetch_order", lambda: core.broker.fetch_order(client_order_id))
    except BrokerError as exc:
        log.warning("look-up after a failed submit failed", error=str(exc))
        return None, False
    return view, True


def _record_attempt(
    core: EngineCore, order: Order, attempt: int, error: BrokerError, note: str
) -> None:
    with core.step() as step:
        current = core.reload(step, order.order_id)
        if current.status in _SENDABLE:
            message = f"{error.message} ({note})"
            event = SubmitAttemptFailed(
                ts=core.clock.now(), attempt=attempt, code=error.code, message=message
            )
            step.record(current, event)


def _record_reject(core: EngineCore, order: Order, exc: BrokerRejected) -> None:
    with core.step() as step:
        current = core.reload(step, order.order_id)
        if current.status is OrderStatus.SUBMITTED:
            message = core.redactor.reason(exc.message)
            event = OrderRejected(ts=core.clock.now(), code=exc.code, message=message)
            step.record(current, event)


def fail_unsent(core: EngineCore, order: Order, code: ErrorCode, message: str) -> None:
    """Definitely not received by the broker: ``FAILED``, with the code that says why."""
    with core.step() as step:
        current = core.reload(step, order.order_id)
        if current.status in _SENDABLE:
            step.record(current, OrderFailed(ts=core.clock.now(), code=code, message=message))


def send(
    core: EngineCore, order: Order, intent: OrderIntent, parent_client_id: str | None = None
) -> Settled | None:
    """Steps 4-7 for a ``SUBMITTED`` order: call the broker, then record what it said."""
    return send_with_retry(core, order, core.order_request(order, intent, parent_client_id))


def resend(core: EngineCore, order_id: str) -> ExecutionReport:
    """Send again an order the broker never received (startup recovery, after a look-up
    by ``client_order_id`` proved it absent). A PENDING order is marked SUBMITTED first;
    any other status is left alone."""
    with core.step() as step:
        order = core.reload(step, order_id)
        if order.status is OrderStatus.PENDING:
            step.record(order, OrderSubmitted(ts=core.clock.now(), attempt=1))
    payload = core.store.intent_payload(order_id)
    if order.status is OrderStatus.SUBMITTED and payload is not None:
        parent = core.store.get_order(order.parent_order_id) if order.parent_order_id else None
        parent_cid = None if parent is None else parent.client_order_id
        send(core, order, OrderIntent.parse(json.loads(payload)), parent_cid)
    return core.report(order_id)
