"""Recording order changes: one unit of work, its events, and publication after commit.

Every change of an order goes through :class:`Step`: the event is applied to the
order (the transition table decides), the order row updated, the event appended to
``order_events`` and to the outbox — all in the step's transaction. Subscribers of
the in-process bus hear about it only after the commit.
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from ordergate.bus.memory import InProcessBus
from ordergate.domain.enums import OrderStatus
from ordergate.domain.events import (
    EXECUTION_REPORT_TOPIC,
    FILL_BUSTED_TOPIC,
    FILL_CORRECTED_TOPIC,
    REPLACE_REJECTED_TOPIC,
    REPLACE_REQUESTED_TOPIC,
    REPLACED_TOPIC,
    SCHEMA_VERSION,
    STATUS_TOPICS,
    SUBMIT_ATTEMPT_TOPIC,
    FillAmended,
    OrderEvent,
    OrderFilled,
    Replaced,
    ReplaceRejected,
    ReplaceRequested,
    SubmitAttemptFailed,
)
from ordergate.domain.fills import Fill
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.order import Order
from ordergate.domain.positions import Position, book
from ordergate.domain.timestamps import iso
from ordergate.engine.amending import overwrite, replayed, reversed_at_cost
from ordergate.engine.cash import CashLedger, CashMove
from ordergate.engine.payloads import OrderEventPayload, TermsCache
from ordergate.store.base import BookedFill, EventRecord, Store, UnitOfWork
from ordergate.views import order_state


def _fill_payload(fill: Fill, realized_gross: Decimal) -> dict[str, Any]:
    body: dict[str, Any] = {
        "exec_id": fill.exec_id,
        "last_qty": fmt(fill.last_qty),
        "last_px": fmt(fill.last_px),
        "commission": fmt(fill.commission),
        "realized_gross": fmt(realized_gross),
        "liquidity": fill.liquidity,
        "late": fill.late,
        "ts": iso(fill.ts),
    }
    if fill.foreign_fee_currency is not None:  # recorded, not booked (domain/fills.py)
        body["foreign_fee"] = fmt(fill.foreign_fee)
        body["foreign_fee_currency"] = fill.foreign_fee_currency
    return body


#: the events with a topic of their own (the rest take their new status's topic)
_OWN_TOPICS = (SubmitAttemptFailed, ReplaceRequested, Replaced, ReplaceRejected)


class Step:
    """One unit of work of the engine: apply events, book fills, then write it all once.

    Orders changed in the step are written once, at :meth:`flush`, with an optimistic
    version check against the version they were read at; events are written in one
    batch to ``order_events`` and the outbox.
    """

    def __init__(
        self,
        tx: UnitOfWork,
        trading_tz: ZoneInfo,
        terms: TermsCache,
        cash: CashLedger | None = None,
    ) -> None:
        self.tx = tx
        self._tz = trading_tz
        self._terms = terms
        self._cash = cash
        #: what this step's fills did to the cash ledger, undone should it not commit
        self.cash_moves: list[CashMove] = []
        #: (topic, key, the event or its payload) to publish once the step commits
        self.published: list[tuple[str, str | None, EventRecord | dict[str, Any]]] = []
        self._events: list[EventRecord] = []
        self._new: dict[str, tuple[Order, str]] = {}
        self._dirty: dict[str, tuple[Order, int]] = {}
        self._positions: dict[tuple[str, str], Position] = {}
        #: fills booked in this step, in order
        self.fills_booked: list[Fill] = []

    @property
    def event_count(self) -> int:
        """Events recorded so far in this step (what a broker view changed shows in it)."""
        return len(self._events)

    def trading_day(self, ts: datetime) -> str:
        return ts.astimezone(self._tz).date().isoformat()

    def emit(self, topic: str, key: str | None, body: dict[str, Any], ts: datetime) -> None:
        """Record an event that belongs to no order state change (ops, risk)."""
        payload = {"schema_version": SCHEMA_VERSION, "topic": topic, "ts": ts.isoformat(), **body}
        text = orjson.dumps(payload).decode()
        self._events.append(EventRecord(None, topic, None, None, text, ts))
        self.published.append((topic, key, payload))

    def record_created(self, order: Order, intent_id: str, intent_digest: str = "") -> None:
        """The order's first event names its intent row (``obs.chain.intent_digest``), so
        ``audit verify`` can check that row against the chain."""
        self._new[order.order_id] = (order, intent_id)
        extra = {
            "intent_id": intent_id,
            "intent_digest": intent_digest or None,
            "sl_offset_pct": None if (sl := order.sl_offset_pct) is None else fmt(sl),
            "tp_offset_pct": None if (tp := order.tp_offset_pct) is None else fmt(tp),
        }
        self._write(order, STATUS_TOPICS[OrderStatus.PENDING], None, order.created_at, extra)

    def record(self, order: Order, event: OrderEvent) -> None:
        """Apply ``event`` to ``order``; both are written at :meth:`flush`."""
        self._track(order)
        pending = order.pending_replace
        previous = order.apply(event)
        extra: dict[str, Any] = {}
        if not isinstance(event, _OWN_TOPICS):  # most events: the status's topic
            topic = STATUS_TOPICS[order.status]
        elif isinstance(event, SubmitAttemptFailed):
            topic = SUBMIT_ATTEMPT_TOPIC
            extra = {"attempt": event.attempt, "attempt_error": event.code.name}
        elif isinstance(event, ReplaceRequested):
            topic, extra = REPLACE_REQUESTED_TOPIC, {"replace": replace_body(event)}
        elif isinstance(event, Replaced):
            self._terms.forget(order.order_id)  # in place, the terms just changed
            topic = REPLACED_TOPIC
            extra = {"replace_no": None if pending is None else pending.number}
            extra["replacement_order_id"] = event.replacement_order_id
        else:
            assert isinstance(event, ReplaceRejected)  # the last of _OWN_TOPICS
            topic = REPLACE_REJECTED_TOPIC
            extra = {"replace_no": None if pending is None else pending.number}
            extra["replace_error"] = event.code.name
            extra["replace_message"] = event.message
        self._write(order, topic, previous, event.ts, extra)

    def created_for(self, account_id: str, symbol: str | None) -> list[Order]:
        """Open orders created in this step for ``account_id`` and ``symbol`` (any symbol
        when None), not written yet."""
        return [
            order
            for order, _ in self._new.values()
            if order.account_id == account_id
            and (symbol is None or order.symbol == symbol)
            and order.is_open
        ]

    def position(self, account_id: str, symbol: str) -> Position:
        key = (account_id, symbol)
        position = self._positions.get(key)
        if position is None:
            position = self.tx.get_position(account_id, symbol)
            self._positions[key] = position
        return position

    def record_fill(self, order: Order, fill: Fill, broker_order_id: str | None = None) -> Decimal:
        """Book a fill: order, fill row, position, events. Return the gross P&L it realized."""
        self._track(order)
        previous = order.apply(OrderFilled(ts=fill.ts, fill=fill, broker_order_id=broker_order_id))
        position = self.position(order.account_id, order.symbol)
        effect = position.apply_fill(order.side, fill.last_qty, fill.last_px, fill.commission)
        if self._cash is not None:
            self.cash_moves.append(
                self._cash.apply_fill(
                    order.account_id,
                    order.symbol,
                    order.side,
                    fill.last_qty,
                    fill.last_px,
                    effect.commission,  # as the position books it: to the minor unit
                )
            )
        self.tx.insert_fill(
            fill,
            order.account_id,
            order.strategy_id,
            effect.realized_gross,
            self.trading_day(fill.ts),
        )
        self.fills_booked.append(fill)
        fill_body = _fill_payload(fill, effect.realized_gross)
        fill_body["position_qty"] = fmt(position.qty)
        self._write(order, EXECUTION_REPORT_TOPIC, previous, fill.ts, {"fill": fill_body})
        if previous is not order.status:
            self._write(order, STATUS_TOPICS[order.status], previous, fill.ts, {})
        return effect.realized_gross

    def record_amendment(
        self, order: Order, booked: BookedFill, after: Fill | None, amend_id: str, ts: datetime
    ) -> Decimal:
        """Bust (``after`` None) or correct the booked fill: order, position replayed from
        the fills it keeps, cash, the fill's row, one event (``engine/amending.py``).
        Return the change of realized gross P&L."""
        self._track(order)
        before = booked.fill
        previous = order.apply(FillAmended(ts=ts, before=before, after=after, amend_id=amend_id))
        position = self.position(order.account_id, order.symbol)  # locks it (PostgreSQL)
        held = self.tx.position_fills(order.account_id, order.symbol)
        new = replayed(position, held, before, after) or reversed_at_cost(position, before, after)
        realized = new.realized_gross - position.realized_gross
        commission = new.commission - position.commission
        overwrite(position, new)
        if self._cash is not None:  # fees as the position books them: to the minor unit
            unit = position.currency
            moves = [
                (before.side, -before.last_qty, before.last_px, -book(before.commission, unit))
            ]
            if after is not None:
                moves.append(
                    (after.side, after.last_qty, after.last_px, book(after.commission, unit))
                )
            for side, qty, px, fee in moves:
                move = self._cash.apply_fill(order.account_id, order.symbol, side, qty, px, fee)
                self.cash_moves.append(move)
        row_realized = booked.realized_gross + realized
        self.tx.amend_fill(before, after, row_realized, amend_id)
        kept = after or before
        fill_body = _fill_payload(
            replace(kept, commission=after.commission if after else ZERO), row_realized
        )
        fill_body["busted"] = after is None
        extra = {
            "fill": fill_body,
            "amend": {
                "amend_id": amend_id,
                "before": _fill_payload(before, booked.realized_gross),
                "realized_gross": fmt(realized) or "0",
                "commission": fmt(commission) or "0",
            },
            "position": {
                "qty": fmt(position.qty) or "0",
                "avg_price": fmt(position.avg_price) or "0",
                "realized_gross": fmt(position.realized_gross) or "0",
                "commission": fmt(position.commission) or "0",
            },
        }
        topic = FILL_BUSTED_TOPIC if after is None else FILL_CORRECTED_TOPIC
        self._write(order, topic, previous, ts, extra)
        if previous is not order.status:
            self._write(order, STATUS_TOPICS[order.status], previous, ts, {})
        return realized

    def flush(self) -> None:
        """Write every order, position and event of the step (inside its transaction)."""
        for order, intent_id in self._new.values():
            self.tx.insert_order(order, intent_id)
        for order, version in self._dirty.values():
            self.tx.update_order(order, version)
        for position in self._positions.values():
            self.tx.save_position(position, position_ts(self._events))
        if self._events:
            self.tx.record_events(self._events)

    def _track(self, order: Order) -> None:
        if order.order_id not in self._new and order.order_id not in self._dirty:
            self._dirty[order.order_id] = (order, order.version)

    def _write(
        self,
        order: Order,
        topic: str,
        previous: OrderStatus | None,
        ts: datetime,
        extra: dict[str, Any],
    ) -> None:
        # str() of a StrEnum is its value, without the enum's Python-level ``.value``
        prev = None if previous is None else str(previous)
        payload = OrderEventPayload(self._terms(order), topic, ts, prev, order_state(order), extra)
        record = EventRecord(order.order_id, topic, prev, str(order.status), payload, ts)
        self._events.append(record)
        self.published.append((topic, order.order_id, record))


def replace_body(event: ReplaceRequested) -> dict[str, Any]:
    r = event.replace
    return {
        "number": r.number,
        "client_order_id": r.client_order_id,
        "kind": r.kind.value,
        "qty": fmt(r.qty),
        "limit_price": fmt(r.limit_price),
        "stop_price": fmt(r.stop_price),
        "key": r.key,
        "digest": r.digest,
    }


def position_ts(events: list[EventRecord]) -> datetime:
    """A position changes only with a fill, so the step has events; take the last one's time."""
    return events[-1].ts


class StepContext:
    """A step in one transaction; its events are published once it has committed.

    The cash ledger is moved as fills are booked, under the store's write lock, and
    moved back when the step does not commit. An order event's payload is decoded for
    the bus only when the topic has a subscriber: in a backtest most have none.

    A class rather than a generator under ``@contextmanager``: an order passes through
    two to four of these, and a generator context manager costs several calls each.
    """

    __slots__ = ("_bus", "_cash", "_terms", "_transaction", "_tz", "step")

    def __init__(
        self,
        store: Store,
        bus: InProcessBus,
        trading_tz: ZoneInfo,
        terms: TermsCache,
        cash: CashLedger | None = None,
    ) -> None:
        self._transaction: AbstractContextManager[UnitOfWork] = store.transaction()
        self._bus = bus
        self._tz = trading_tz
        self._terms = terms
        self._cash = cash
        self.step: Step | None = None

    def __enter__(self) -> Step:
        tx = self._transaction.__enter__()
        try:
            step = self.step = Step(tx, self._tz, self._terms, self._cash)
        except BaseException:
            self._transaction.__exit__(*sys.exc_info())
            raise
        return step

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        step = self.step
        assert step is not None  # entered
        if kind is not None:
            self._abort(step, kind, error, trace)
            return
        try:
            step.flush()
        except BaseException:
            self._abort(step, *sys.exc_info())
            raise
        try:
            self._transaction.__exit__(None, None, None)  # the commit
        except BaseException:
            self._undo_cash(step)
            raise
        bus = self._bus
        for topic, key, event in step.published:
            if bus.has_subscribers(topic):
                payload = event if isinstance(event, dict) else orjson.loads(event.payload)
                bus.publish(topic, key, payload)

    def _abort(
        self,
        step: Step,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Roll the transaction back (the store's context sees the error), then the cash."""
        try:
            self._transaction.__exit__(kind, error, trace)
        finally:
            self._undo_cash(step)

    def _undo_cash(self, step: Step) -> None:
        if self._cash is not None and step.cash_moves:
            self._cash.undo(step.cash_moves)
