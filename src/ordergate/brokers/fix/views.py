"""A journaled order as the engine sees it: a whole :class:`BrokerOrder`.

``executions`` are the journaled trades: a busted one is listed as busted and a
corrected one with its corrected figures (``Execution.amend``), so the engine takes
back what it booked; ``filled_qty`` and ``avg_price`` derive from the trades that
stand. An order the journal first heard of in a report is the broker's own.

Where the counterparty's CumQty is ahead of the executions we hold
(an ExecutionReport still to come, e.g. resent after a gap), the order is reported as
still filling rather than FILLED: the missing trades arrive by the session's resend.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from ordergate.brokers.fix.journal import StoredExecution, StoredOrder
from ordergate.domain.enums import OrderStatus, Side
from ordergate.domain.fills import Amend
from ordergate.domain.money import ZERO
from ordergate.domain.wire import BrokerOrder, BrokerPosition, Execution


def _ts(text: str) -> datetime:
    for pattern in ("%Y%m%d-%H:%M:%S.%f", "%Y%m%d-%H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return datetime.now(UTC)


def order_view(
    stored: StoredOrder, executions: list[StoredExecution], *, symbol: str, account: str
) -> BrokerOrder:
    entries = tuple(
        Execution(
            exec_id=e.exec_id,
            last_qty=e.last_qty,
            last_px=e.last_px,
            ts=_ts(e.ts),
            commission=e.commission,
            amend=_amend_of(e),
            amend_id=e.amend_id,
        )
        for e in executions
    )
    trades = [t for t in entries if t.amend is not Amend.BUST]
    filled = sum((t.last_qty for t in trades), ZERO)
    avg = sum((t.last_qty * t.last_px for t in trades), ZERO) / filled if filled else None
    status = stored.status
    qty = stored.terms.qty
    if status is OrderStatus.FILLED and filled < qty:
        status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACCEPTED
    elif status is OrderStatus.ACCEPTED and filled:
        status = OrderStatus.PARTIALLY_FILLED
    elif status is OrderStatus.PARTIALLY_FILLED and not filled:
        status = OrderStatus.ACCEPTED
    return BrokerOrder(
        client_order_id=stored.root,
        broker_order_id=stored.order_id,
        status=status,
        symbol=symbol,
        side=stored.terms.side,
        qty=qty,
        filled_qty=filled,
        avg_price=avg,
        executions=entries,
        reason=stored.reason,
        order_type=stored.terms.order_type,
        time_in_force=stored.terms.time_in_force,
        limit_price=stored.terms.limit_price,
        stop_price=stored.terms.stop_price,
        account_id=account,
        originated_by_broker=stored.foreign,
        raw=dict(stored.raw),
    )


def _amend_of(execution: StoredExecution) -> Amend:
    if execution.busted:
        return Amend.BUST
    return Amend.CORRECT if execution.amend_id else Amend.NONE


def positions(
    executions: list[StoredExecution], *, symbol_of: dict[str, str], account: str
) -> list[BrokerPosition]:
    """Net quantity and average cost per symbol from the session's executions, in
    order (a sale keeps the average; crossing zero starts a new one at the fill)."""
    qty: dict[str, Decimal] = defaultdict(lambda: ZERO)
    avg: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for e in executions:
        ours = symbol_of.get(e.symbol, e.symbol)
        signed = e.last_qty if e.side is Side.BUY else -e.last_qty
        before = qty[ours]
        after = before + signed
        if before == 0 or (before > 0) != (signed > 0):
            if after == 0:
                avg[ours] = ZERO
            elif before == 0 or (before > 0) != (after > 0):
                avg[ours] = e.last_px
        else:
            avg[ours] = (before * avg[ours] + signed * e.last_px) / after
        qty[ours] = after
    return [
        BrokerPosition(symbol=s, qty=q, avg_price=avg[s], account_id=account)
        for s, q in sorted(qty.items())
        if q != 0
    ]


def cash_spent(executions: list[StoredExecution]) -> Decimal:
    """What the session's trades cost (buys minus sales, plus commission)."""
    return sum(
        (
            (e.last_qty * e.last_px if e.side is Side.BUY else -e.last_qty * e.last_px)
            + e.commission
            for e in executions
        ),
        ZERO,
    )
