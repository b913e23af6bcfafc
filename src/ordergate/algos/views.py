"""What a parent order shows (CLI, API, dashboard): its terms, progress, deviation from
the schedule, TCA and children — and the execution report a submit answers with."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ordergate.algos.parent import ChildState, ParentOrder, ParentStatus, progress_of, tca_of
from ordergate.domain.enums import OrderStatus
from ordergate.domain.money import fmt
from ordergate.domain.report import ExecutionReport

_STATUS_AS_ORDER = {
    ParentStatus.PENDING_CANCEL: OrderStatus.PENDING_CANCEL,
    ParentStatus.COMPLETED: OrderStatus.FILLED,
    ParentStatus.EXPIRED: OrderStatus.EXPIRED,
    ParentStatus.CANCELED: OrderStatus.CANCELED,
    ParentStatus.REJECTED: OrderStatus.REJECTED,
}


def parent_view(
    parent: ParentOrder, children: Sequence[ChildState], scheduled: Decimal | None
) -> dict[str, Any]:
    """JSON-ready; ``scheduled`` is what the schedule alone wanted filled by now."""
    progress = progress_of(parent.qty, children)
    terms = parent.intent.algo
    return {
        "parent_id": parent.parent_id,
        "idempotency_key": parent.idempotency_key,
        "account_id": parent.account_id,
        "symbol": parent.symbol,
        "side": parent.side.value,
        "qty": fmt(parent.qty),
        "limit_price": fmt(parent.limit_price),
        "algo": None if terms is None else terms.to_dict(),
        "status": parent.status.value,
        "created_at": parent.created_at.isoformat(),
        "updated_at": parent.updated_at.isoformat(),
        "filled": fmt(progress.filled),
        "working": fmt(progress.working),
        "left": fmt(parent.qty - progress.filled),
        "scheduled": fmt(scheduled),
        "deviation": None if scheduled is None else fmt(progress.filled - scheduled),
        "tca": tca_of(parent, progress).to_dict(),
        "error_code": parent.error_code or None,
        "children": [
            {
                "order_id": c.order_id,
                "slice": c.slice_no,
                "qty": fmt(c.qty),
                "filled": fmt(c.filled),
                "avg_price": fmt(c.avg_price),
                "status": c.status,
                "created_at": c.created_at.isoformat(),
            }
            for c in children
        ],
    }


def parent_report(
    parent: ParentOrder, children: Sequence[ChildState], view: dict[str, Any], *, simulated: bool
) -> ExecutionReport:
    """The parent as an execution report: WORKING shows as ACCEPTED (PARTIALLY_FILLED
    once a child filled), COMPLETED as FILLED; ``extra["algo"]`` is its view."""
    progress = progress_of(parent.qty, children)
    status = _STATUS_AS_ORDER.get(parent.status)
    if status is None:
        status = OrderStatus.PARTIALLY_FILLED if progress.filled else OrderStatus.ACCEPTED
    return ExecutionReport(
        order_id=parent.parent_id,
        client_order_id="",
        status=status,
        filled_qty=progress.filled,
        avg_price=progress.avg_price,
        error_code=parent.error_code,
        error_message=parent.error_message if parent.error_code else "",
        simulated=simulated,
        extra={"algo": view},
    )
