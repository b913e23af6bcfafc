"""Startup recovery: settle every order a crash left in flight, never sending twice.

For each order the store still has open — ``PENDING``, ``SUBMITTED``, ``ACCEPTED``,
``PARTIALLY_FILLED``, ``PENDING_CANCEL`` — the broker is asked by ``client_order_id``:

- **it has the order** → adopt its view: the status it reached and every fill we
  missed (fills dedupe by ``exec_id``, so what we already booked is not booked again);
  a ``PENDING_CANCEL`` the broker still works is canceled again;
- **it never received it** (``PENDING``: we died before sending; or ``SUBMITTED``,
  we died while sending, where the broker dedupes by ``client_order_id`` or its miss
  is conclusive — the resend rule) → send it now, with the same ``client_order_id``,
  unless the intent has expired (then ``FAILED``);
- **not found, and the miss proves nothing** (``SUBMITTED`` at a broker that neither
  dedupes nor proves absence) → left ``SUBMITTED``, reported ``unknown``: tracking
  looks it up again and, past a bound, reports it for a person;
- **it never received an order it once acknowledged** → left alone and reported: that
  is a reconciliation matter for a person, not for a guess;
- **the look-up failed** → left alone and reported; tracking settles it later.

Then every **pending replace** (a modify persisted before its broker call) is settled
(:func:`_settle_replaces`): the look-up above already recorded a replace the broker
applied in place (its view shows the new terms); one still pending on a working order
is sent again — with the same replace id and absolute terms, so a second delivery
changes nothing the first did not; a replace by a new order hands over once the old
order is final (the replacement is looked up by its own client order id, or
submitted), and a cancel-replace that may never have arrived is sent again only under
the resend rule.

Recovery runs before the engine takes new intents; the crash sweep in
``tests/crash`` kills the engine at every step of the submit path to prove it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from ordergate.domain.capabilities import Modify
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerError, ErrorCode, OrderGateError
from ordergate.domain.events import PendingReplace, ReplaceKind
from ordergate.domain.order import Order
from ordergate.engine.cancelling import cancel
from ordergate.engine.core import EngineCore, capabilities_of, is_armed
from ordergate.engine.modify import handover, reject_pending, send_replace
from ordergate.engine.submitting import fail_unsent, resend
from ordergate.engine.updates import apply_broker_view
from ordergate.store.base import OrderQuery

log = structlog.get_logger("ordergate.engine.recovery")


@dataclass(slots=True)
class RecoveryReport:
    adopted: list[str] = field(default_factory=list)
    resubmitted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    #: in flight at the crash, not found, and not resendable under the resend rule
    unknown: list[str] = field(default_factory=list)
    #: orders whose pending replace was settled, or sent again, by recovery
    replaces_settled: list[str] = field(default_factory=list)
    replaces_resent: list[str] = field(default_factory=list)
    fills_applied: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "adopted": self.adopted,
            "resubmitted": self.resubmitted,
            "failed": self.failed,
            "unresolved": self.unresolved,
            "unknown": self.unknown,
            "replaces_settled": self.replaces_settled,
            "replaces_resent": self.replaces_resent,
            "fills_applied": self.fills_applied,
            "seconds": round(self.seconds, 6),
        }


def recover(
    core: EngineCore, *, resubmit: bool = True, only: Collection[str] | None = None
) -> RecoveryReport:
    """Settle every open order (or ``only`` these) with the broker; say what was done."""
    started = time.perf_counter()
    report = RecoveryReport()
    for order in core.store.open_orders():
        if only is not None and order.order_id not in only:
            continue
        try:
            _recover_one(core, order, report, resubmit=resubmit)
        except OrderGateError as exc:
            log.error("recovery of an order failed", order_id=order.order_id, error=str(exc))
            report.unresolved.append(order.order_id)
    _settle_replaces(core, report, only)
    report.seconds = time.perf_counter() - started
    log.info("recovery done", **report.to_dict())
    return report


def _recover_one(core: EngineCore, order: Order, report: RecoveryReport, *, resubmit: bool) -> None:
    if is_armed(order):
        return  # a held bracket leg was never meant to be sent yet: it stays armed
    cid = order.client_order_id
    try:
        view = core.policy.call("fetch_order", lambda: core.broker.fetch_order(cid))
    except BrokerError as exc:
        log.warning("recovery look-up failed", order_id=order.order_id, error=str(exc))
        report.unresolved.append(order.order_id)
        return
    if view is not None:
        known = len(core.store.fills_for(order.order_id))
        apply_broker_view(core, view)
        report.fills_applied += len(core.store.fills_for(order.order_id)) - known
        report.adopted.append(order.order_id)
        if order.status is OrderStatus.PENDING_CANCEL and view.status.is_open:
            cancel(core, order.order_id, reason=order.reason or "recovery")
        return
    if order.status not in (OrderStatus.PENDING, OrderStatus.SUBMITTED):
        log.error("the broker lost an order it acknowledged", order_id=order.order_id)
        report.unresolved.append(order.order_id)
        return
    caps = capabilities_of(core.broker)
    if order.status is OrderStatus.SUBMITTED and not caps.may_resend_unknown:
        # it may have been sent as we died, and this miss proves nothing (the broker
        # neither dedupes nor can prove absence): never resend blind (DESIGN.md)
        log.warning(
            "in-flight order not found, and a miss proves nothing here; left unknown",
            order_id=order.order_id,
            adapter=core.broker.adapter_id,
        )
        report.unknown.append(order.order_id)
        return
    if not resubmit or _expired(core, order.order_id):
        why = "expired before recovery could send it" if resubmit else "resubmission is off"
        code = ErrorCode.E_INTENT_EXPIRED if resubmit else ErrorCode.E_EXEC_BROKER_UNAVAILABLE
        fail_unsent(core, order, code, f"never received by the broker; {why}")
        report.failed.append(order.order_id)
        return
    resend(core, order.order_id)
    report.resubmitted.append(order.order_id)


#: how many recently final orders are searched for a replace left pending by a crash
_FINAL_SCAN = 1000


def _settle_replaces(
    core: EngineCore, report: RecoveryReport, only: Collection[str] | None
) -> None:
    final = OrderQuery(status=("CANCELED", "FILLED", "EXPIRED", "REJECTED"), limit=_FINAL_SCAN)
    candidates = [*core.store.open_orders(), *core.store.list_orders(final)]
    for order in candidates:
        pending = order.pending_replace
        if pending is None or (only is not None and order.order_id not in only):
            continue
        try:
            _settle_replace(core, order, pending, report)
        except OrderGateError as exc:
            log.error("recovery of a replace failed", order_id=order.order_id, error=str(exc))
            report.unresolved.append(order.order_id)


def _settle_replace(
    core: EngineCore, order: Order, pending: PendingReplace, report: RecoveryReport
) -> None:
    oid = order.order_id
    if pending.kind is ReplaceKind.IN_PLACE:
        if order.is_open:
            send_replace(core, order, pending)
            report.replaces_resent.append(oid)
        else:
            reject_pending(
                core, oid, pending, ErrorCode.E_ORDER_NOT_MODIFIABLE, "the order ended first"
            )
            report.replaces_settled.append(oid)
        return
    if not order.is_open:
        handover(core, oid)
        report.replaces_settled.append(oid)
        return
    caps = capabilities_of(core.broker)
    if caps.modify is Modify.NONE:
        if order.status is OrderStatus.PENDING_CANCEL:
            cancel(core, oid, reason="replace")  # confirmed → the replacement goes
            report.replaces_resent.append(oid)
        return
    try:  # a cancel-replace: the broker's new order, by the replace's own id
        new = core.policy.call(
            "fetch_order", lambda: core.broker.fetch_order(pending.client_order_id)
        )
    except BrokerError:
        report.unresolved.append(oid)
        return
    if new is None and caps.may_resend_unknown:
        send_replace(core, order, pending)
        report.replaces_resent.append(oid)
    elif new is None:
        report.unknown.append(oid)
    else:
        report.unresolved.append(oid)  # the new order exists, the old not yet canceled


def _expired(core: EngineCore, order_id: str) -> bool:
    payload = core.store.intent_payload(order_id)
    if payload is None:
        return False
    expire_at = json.loads(payload).get("expire_at")
    return expire_at is not None and datetime.fromisoformat(expire_at) <= core.clock.now()
