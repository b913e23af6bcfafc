"""Reconciliation (seed 004): what we believe against what the broker has.

One query each — the broker's open orders, then its positions (attached stop-loss and
take-profit orders are among the open orders) — compared with the store:

- ``MISMATCH`` — an order open on one side only, a different filled quantity, a
  position of a different size, an SL/TP at a different price;
- ``PHANTOM_POSITION`` — the broker holds a position we do not;
- ``MISSING_POSITION`` — we hold a position the broker does not;
- ``MISSING_SL_TP`` — a filled order with SL/TP offsets has no working stop or target
  at the broker (children carry ``parent_client_order_id``);
- ``MATCHED`` — nothing to say.

Every mismatch is listed; any mismatch sets ``requires_manual_resolution``. Nothing is
corrected: the broker is the truth of what happened, the store of what we meant, and a
person decides. Each report is persisted (``reconcile_reports``, see ``reconcile_log.py``)
and emitted as the event ``ops.reconcile.report``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ordergate.domain.enums import OrderStatus, OrderType
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.wire import BrokerOrder, BrokerPosition
from ordergate.engine.reconcile_log import ReconcileLog, reconcile_log_for
from ordergate.store.base import OrderQuery

if TYPE_CHECKING:
    from ordergate.domain.order import Order
    from ordergate.engine.core import EngineCore

RECONCILE_TOPIC = "ops.reconcile.report"


class ReconcileStatus(StrEnum):
    MATCHED = "MATCHED"
    MISMATCH = "MISMATCH"
    PHANTOM_POSITION = "PHANTOM_POSITION"
    MISSING_POSITION = "MISSING_POSITION"
    MISSING_SL_TP = "MISSING_SL_TP"


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: ReconcileStatus
    subject: str
    message: str
    internal: str | None = None
    broker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "subject": self.subject,
            "message": self.message,
            "internal": self.internal,
            "broker": self.broker,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileReport:
    report_id: str
    created_at: datetime
    status: ReconcileStatus
    mismatches: tuple[Mismatch, ...]
    checked: dict[str, int] = field(default_factory=dict)
    #: the order this report is about (one run after its hard timeout), if any
    order_id: str | None = None

    @property
    def requires_manual_resolution(self) -> bool:
        return bool(self.mismatches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "created_at": self.created_at.isoformat(),
            "status": self.status.value,
            "requires_manual_resolution": self.requires_manual_resolution,
            "mismatches": [m.to_dict() for m in self.mismatches],
            "checked": self.checked,
            "order_id": self.order_id,
        }


def reconcile(
    engine: EngineCore,
    *,
    account_id: str | None = None,
    log: ReconcileLog | None = None,
    persist: bool = True,
) -> ReconcileReport:
    """Compare, list, persist; never correct."""
    broker = engine.broker
    broker_open = engine.policy.call("fetch_open_orders", broker.fetch_open_orders)
    broker_positions = engine.policy.call("fetch_positions", broker.fetch_positions)
    ours_open = [
        o
        for o in engine.store.open_orders()
        if o.status is not OrderStatus.PENDING and account_id in (None, o.account_id)
    ]
    found: list[Mismatch] = []
    found += _orders(engine, ours_open, broker_open)
    found += _positions(engine, account_id, broker_positions)
    found += _brackets(engine, account_id, broker_open)
    checked = {
        "open_orders": len(ours_open),
        "broker_open_orders": len(broker_open),
        "broker_positions": len(broker_positions),
    }
    return _report(engine, found, checked, None, log if persist else None, persist)


def reconcile_order(
    engine: EngineCore, order_id: str, *, log: ReconcileLog | None = None
) -> ReconcileReport:
    """Reconcile one order (seed 004: after its hard timeout): the broker's view of it,
    looked up once by ``client_order_id``, and the position in its symbol. The report
    is persisted with the order's id, and its event is keyed by it."""
    broker = engine.broker
    order = engine.order(order_id)
    view = engine.policy.call("fetch_order", lambda: broker.fetch_order(order.client_order_id))
    positions = [
        p
        for p in engine.policy.call("fetch_positions", broker.fetch_positions)
        if p.symbol == order.symbol and p.account_id == order.account_id
    ]
    found: list[Mismatch] = []
    if view is None:
        if order.broker_order_id:  # the broker acknowledged it once: it cannot be unknown
            found.append(
                Mismatch(
                    ReconcileStatus.MISMATCH,
                    order.order_id,
                    f"order {order.order_id} is {order.status} here but unknown to the broker",
                    order.status.value,
                    None,
                )
            )
        elif order.status is OrderStatus.SUBMITTED:  # sent, never answered, never found
            found.append(
                Mismatch(
                    ReconcileStatus.MISMATCH,
                    order.order_id,
                    f"order {order.order_id} ({order.client_order_id}) was sent but its outcome "
                    "is unknown: the broker does not show it, and that proves nothing here — "
                    "check the broker's order book before trading this symbol again",
                    order.status.value,
                    None,
                )
            )
    elif view.status.is_open != order.status.is_open or view.filled_qty != order.filled_qty:
        found.append(
            Mismatch(
                ReconcileStatus.MISMATCH,
                order.order_id,
                f"order {order.order_id} is {order.status} with {fmt(order.filled_qty)} filled "
                f"here, {view.status} with {fmt(view.filled_qty)} filled at the broker",
                f"{order.status.value} {fmt(order.filled_qty)}",
                f"{view.status.value} {fmt(view.filled_qty)}",
            )
        )
    found += [
        m
        for m in _positions(engine, order.account_id, positions)
        if m.subject == f"{order.account_id}/{order.symbol}"
    ]
    checked = {"orders": 1, "broker_positions": len(positions)}
    return _report(engine, found, checked, order.order_id, log, True)


def _report(
    engine: EngineCore,
    found: list[Mismatch],
    checked: dict[str, int],
    order_id: str | None,
    log: ReconcileLog | None,
    persist: bool,
) -> ReconcileReport:
    kinds = {m.kind for m in found}
    if not found:
        status = ReconcileStatus.MATCHED
    elif len(kinds) == 1:
        status = found[0].kind
    else:
        status = ReconcileStatus.MISMATCH
    now = engine.clock.now()
    report = ReconcileReport(
        report_id=engine.ids.next_id("rec"),
        created_at=now,
        status=status,
        mismatches=tuple(found),
        checked=checked,
        order_id=order_id,
    )
    if persist:
        (log or reconcile_log_for(engine.store)).save(report.to_dict())
        with engine.step() as step:
            step.emit(RECONCILE_TOPIC, order_id or report.report_id, report.to_dict(), now)
    return report


def _orders(engine: EngineCore, ours: list[Order], theirs: list[BrokerOrder]) -> list[Mismatch]:
    out: list[Mismatch] = []
    by_cid = {o.client_order_id: o for o in theirs}
    for order in ours:
        view = by_cid.pop(order.client_order_id, None)
        if view is None:
            out.append(
                Mismatch(
                    ReconcileStatus.MISMATCH,
                    order.order_id,
                    f"order {order.order_id} is {order.status} here but not open at the broker",
                    order.status.value,
                    None,
                )
            )
        elif view.filled_qty != order.filled_qty:
            out.append(
                Mismatch(
                    ReconcileStatus.MISMATCH,
                    order.order_id,
                    f"order {order.order_id} has {fmt(order.filled_qty)} filled here, "
                    f"{fmt(view.filled_qty)} at the broker",
                    fmt(order.filled_qty),
                    fmt(view.filled_qty),
                )
            )
    for cid, view in by_cid.items():
        if view.parent_client_order_id:
            continue  # an attached SL/TP: checked with the brackets
        known = engine.store.order_by_client_id(cid)
        where = "unknown here" if known is None else f"{known.status} here"
        out.append(
            Mismatch(
                ReconcileStatus.MISMATCH,
                cid,
                f"the broker works order {cid} ({view.status}), {where}",
                None if known is None else known.status.value,
                view.status.value,
            )
        )
    return out


def _positions(
    engine: EngineCore, account_id: str | None, theirs: list[BrokerPosition]
) -> list[Mismatch]:
    out: list[Mismatch] = []
    broker_qty = {(p.account_id, p.symbol): p.qty for p in theirs if p.qty != 0}
    ours = {
        (p.account_id, p.symbol): p.qty for p in engine.store.positions(account_id) if p.qty != 0
    }
    for key in sorted(set(broker_qty) | set(ours)):
        mine, venue = ours.get(key, ZERO), broker_qty.get(key, ZERO)
        subject = f"{key[0]}/{key[1]}"
        if mine == venue:
            continue
        if mine == 0:
            kind, text = ReconcileStatus.PHANTOM_POSITION, "a position we do not hold"
        elif venue == 0:
            kind, text = ReconcileStatus.MISSING_POSITION, "no position at the broker"
        else:
            kind, text = ReconcileStatus.MISMATCH, "a position of another size"
        out.append(
            Mismatch(
                kind,
                subject,
                f"{subject}: expected position {fmt(mine)}, found {fmt(venue)} in broker ({text})",
                fmt(mine),
                fmt(venue),
            )
        )
    return out


def _brackets(
    engine: EngineCore, account_id: str | None, theirs: list[BrokerOrder]
) -> list[Mismatch]:
    """Each filled order with SL/TP offsets and an open position needs its children."""
    out: list[Mismatch] = []
    held = {(p.account_id, p.symbol) for p in engine.store.positions(account_id) if p.qty != 0}
    children: dict[str, list[BrokerOrder]] = {}
    for view in theirs:
        if view.parent_client_order_id:
            children.setdefault(view.parent_client_order_id, []).append(view)
    query = OrderQuery(status=("FILLED",), account_id=account_id, limit=10_000)
    for order in engine.store.list_orders(query):
        if (order.account_id, order.symbol) not in held or order.avg_fill_price is None:
            continue
        payload = engine.store.intent_payload(order.order_id)
        intent = json.loads(payload) if payload else {}
        kids = children.get(order.client_order_id, [])
        for leg, key, kind in (
            ("SL", "sl_offset_pct", OrderType.STOP),
            ("TP", "tp_offset_pct", OrderType.LIMIT),
        ):
            offset = intent.get(key)
            if offset is None:
                continue
            expected = order.avg_fill_price * (1 + Decimal(str(offset)))
            out += _check_leg(order, leg, expected, [k for k in kids if k.order_type is kind])
    return out


def _check_leg(
    order: Order, leg: str, expected: Decimal, legs: list[BrokerOrder]
) -> list[Mismatch]:
    if not legs:
        return [
            Mismatch(
                ReconcileStatus.MISSING_SL_TP,
                order.order_id,
                f"order {order.order_id}: {leg} missing at the broker (expected {fmt(expected)})",
                fmt(expected),
                None,
            )
        ]
    price = legs[0].stop_price if leg == "SL" else legs[0].limit_price
    if price is not None and expected.quantize(price) == price:
        return []
    return [
        Mismatch(
            ReconcileStatus.MISMATCH,
            order.order_id,
            f"order {order.order_id}: {leg} at {fmt(price)}, expected {fmt(expected)}",
            fmt(expected),
            fmt(price),
        )
    ]
