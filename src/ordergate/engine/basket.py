"""A basket: several intents down the submit path with two commits, not two each.

A rebalance or a pairs trade sends several orders at once. Submitted one by one, each
pays the submit path's two durable commits (the intent before the broker hears of it,
then the receipt). A basket keeps every promise of the single path and shares the
commits:

1. every intent is validated first: one bad intent fails the basket before anything
   is recorded, naming the intent (``intents[3].qty``);
2. one unit of work records every intent under its key (a key already used replays its
   order, a changed payload is a conflict), gates each one — counting what the basket
   itself has just accepted for the same symbol — and marks the new ones ``SUBMITTED``;
3. each order is sent (the call policy, rate limit and circuit breaker apply to each);
4. one unit of work records every receipt that came back. An order whose call failed,
   timed out or raced a stream update goes on alone through the single path's retry
   and look-up, so a basket never sends anything twice.

A crash in the middle is the single path's crash: the recorded orders are looked up
by ``client_order_id`` on the next start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import (
    BrokerError,
    InvalidIntent,
    PersistenceError,
    SentUnrecorded,
)
from ordergate.domain.intent import OrderIntent, check_not_expired
from ordergate.domain.order import Order
from ordergate.domain.report import ExecutionReport
from ordergate.domain.wire import BrokerOrder, OrderRequest
from ordergate.engine.accepting import accept_all, report_for
from ordergate.engine.core import EngineCore, Settled
from ordergate.engine.submitting import attempt_submit, send_with_retry
from ordergate.engine.updates import apply_broker_view, apply_broker_views
from ordergate.store.base import DuplicateKey, StaleOrder

log = structlog.get_logger("ordergate.engine")


def submit_basket(
    core: EngineCore, items: Sequence[OrderIntent | Mapping[str, Any]]
) -> list[ExecutionReport]:
    """Submit ``items`` as one basket; one report per item, in their order."""
    intents = [_parsed(core, index, item) for index, item in enumerate(items)]
    for symbol in sorted({intent.symbol for intent in intents}):
        core.refresh_mark(symbol)
    accepted = accept_all(core, intents)
    sent: list[tuple[Order, OrderRequest, BrokerOrder]] = []
    failed: list[tuple[Order, OrderRequest, BrokerError]] = []
    settled: dict[str, Settled | None] = {}
    for (order, fresh), intent in zip(accepted, intents, strict=True):
        if not fresh or order.status is not OrderStatus.SUBMITTED:
            continue
        request = core.order_request(order, intent)
        outcome = attempt_submit(core, order, request)
        if isinstance(outcome, BrokerOrder):
            sent.append((order, request, outcome))
        elif outcome is None:
            settled[order.order_id] = None  # rejected or refused: recorded already
        else:
            failed.append((order, request, outcome))
    try:
        settled.update(_apply_receipts(core, sent))
    except PersistenceError as exc:
        raise SentUnrecorded(
            f"{len(sent)} order(s) of the basket were sent but their receipts could not be "
            f"recorded: {exc.message}",
            context={"order_ids": ",".join(order.order_id for order, _, _ in sent)},
        ) from exc
    for order, request, error in failed:  # after the receipts: retries may wait seconds
        settled[order.order_id] = send_with_retry(core, order, request, first=error)
    return [
        report_for(core, order, fresh, settled.get(order.order_id), sent=order.order_id in settled)
        for order, fresh in accepted
    ]


def _parsed(core: EngineCore, index: int, item: OrderIntent | Mapping[str, Any]) -> OrderIntent:
    try:
        intent = item if isinstance(item, OrderIntent) else OrderIntent.parse(item)
        check_not_expired(intent, core.clock.now())
    except InvalidIntent as exc:
        raise exc.inside(f"intents[{index}]") from exc
    return intent


def _apply_receipts(
    core: EngineCore, sent: list[tuple[Order, OrderRequest, BrokerOrder]]
) -> dict[str, Settled | None]:
    """Record every receipt in one unit of work; alone, one by one, should that fail."""
    if not sent:
        return {}
    try:
        by_client = apply_broker_views(core, [(receipt, order) for order, _, receipt in sent])
        return {order.order_id: by_client[order.client_order_id] for order, _, _ in sent}
    except (StaleOrder, DuplicateKey) as exc:  # a stream update got to one of them first
        log.info("basket receipts applied one by one", error=str(exc))
    return {order.order_id: apply_broker_view(core, receipt) for order, _, receipt in sent}
