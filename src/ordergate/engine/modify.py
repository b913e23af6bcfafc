"""Modify, exactly once: a working order's quantity or prices changed at the broker.

``core.modify(order_id, qty=…, limit_price=…, stop_price=…, key=…)`` is a command
with its own idempotency key: the same key with the same change answers with the
order as it is (``replayed``), the same key with another change is
``E_EXEC_IDEMPOTENCY_CONFLICT``. ``qty`` is the new *total* quantity, refused at or
below what has filled. The steps:

1. **Check** the order (working at the broker: ``ACCEPTED`` or ``PARTIALLY_FILLED``,
   no replace pending, else ``E_ORDER_NOT_MODIFIABLE``), the change
   (``E_ORDER_MODIFY_INVALID``) and the gates that apply to changed terms: the
   instrument rules always, and for a change that adds to what is at risk, the kill
   switches, the trading state, the notional limit and buying power.
2. **Persist** the replace (``ReplaceRequested``: its number, its own client order id
   ``<client_order_id>.r<number>`` within the broker's id rules, the new terms, the
   key) on the order, in one unit of work, before the broker hears of it. The order
   keeps its status and its terms while the replace is pending.
3. **Send** it, by the broker's ``capabilities.modify``:

   - ``REPLACE`` (in place): the broker's answer, a look-up, the stream or recovery
     shows the order on its new terms → ``Replaced`` (the terms change now); a refusal
     (a fill came first and left too little, the order ended) → ``ReplaceRejected``.
     A replace whose answer was lost stays pending; sending it again is safe: its
     terms are absolute (a total quantity, not a change), so a second delivery leaves
     the order as the first did — and the paper venue and the simulated exchange also
     apply a replace id only once (``replaces`` on their orders).
   - ``CANCEL_REPLACE`` (the broker opens a new order) and ``NONE`` (the engine
     cancels): the new order counts only once the old one is **confirmed canceled**;
     then, in one unit of work, the replacement order is recorded under the replace's
     client order id (key ``<key>.r<number>``, the remaining quantity) and the old one
     hands over to it (``Replaced``). With ``NONE`` the replacement is then submitted
     down the normal path; with ``CANCEL_REPLACE`` it is looked up and adopted. A
     fill that ends the old order first leaves nothing to replace (``ReplaceRejected``).
     Never are both orders working.

A crash between 2 and 3 leaves the replace pending: recovery (``settle_pending``)
looks the order up by both ids and either records the outcome or sends the same
replace again (at most one replace is applied).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace as with_fields
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

import structlog

from ordergate.domain.capabilities import BrokerCapabilities, Modify, client_order_id_problem
from ordergate.domain.enums import OrderStatus, OrderType
from ordergate.domain.errors import (
    BrokerError,
    BrokerRejected,
    ConfigError,
    ErrorCode,
    IdempotencyConflict,
    InvalidIntent,
    OrderGateError,
    OrderNotFound,
    OrderNotModifiable,
)
from ordergate.domain.events import (
    REPLACE_REJECTED_TOPIC,
    REPLACE_REQUESTED_TOPIC,
    OrderCancelRequested,
    OrderSubmitted,
    PendingReplace,
    Replaced,
    ReplaceKind,
    ReplaceRejected,
    ReplaceRequested,
)
from ordergate.domain.intent import OrderIntent
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.order import Order
from ordergate.domain.positions import Position
from ordergate.domain.report import ExecutionReport
from ordergate.domain.wire import BrokerOrder
from ordergate.engine.cancelling import cancel
from ordergate.engine.cash import reserved_notional
from ordergate.engine.core import EngineCore, capabilities_of
from ordergate.engine.ports import GateContext, PreTradeCheck, Rejection
from ordergate.engine.submitting import send_with_retry
from ordergate.engine.updates import apply_broker_view
from ordergate.resilience.crashpoint import crashpoint
from ordergate.store.base import StaleOrder, StoredIntent
from ordergate.store.chain import intent_digest

log = structlog.get_logger("ordergate.engine.modify")
S = OrderStatus

#: Statuses in which an order is working at the broker and may be modified.
MODIFIABLE = frozenset({S.ACCEPTED, S.PARTIALLY_FILLED})
#: Gates that judge a changed order's terms, whatever the change.
TERM_GATES = frozenset({"tradable", "tick_size", "lot_size", "min_qty", "max_qty", "price_band"})
#: Gates that also judge a change that adds to what is at risk (more quantity, or a
#: price that ties up more): the operator's controls and the money.
RISK_GATES = frozenset({"kill_switch", "trading_state", "max_notional", "buying_power"})
#: The money gates judge what will still be working: the remaining quantity.
LEAVES_GATES = frozenset({"max_notional", "buying_power"})
_LIMITS = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
#: a modify's idempotency key: what an intent's key may be
_KEY = re.compile(r"[\x21-\x7e]{1,128}")
_STOPS = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})


@runtime_checkable
class Modifies(Protocol):
    """A broker with a native modify (``capabilities.modify`` not ``NONE``):
    ``new_client_order_id`` names the replace (the new order, for a cancel-replace);
    ``None`` leaves a term as it is."""

    def modify(
        self,
        client_order_id: str,
        *,
        new_client_order_id: str,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder: ...


# ------------------------------------------------------------------ the command


def modify_order(
    core: EngineCore,
    order_id: str,
    *,
    qty: Any = None,
    limit_price: Any = None,
    stop_price: Any = None,
    key: str | None = None,
) -> ExecutionReport:
    """Run one modify (module docstring); return the order's report, with the replace
    in ``extra["replace"]``."""
    new_qty = _amount("qty", qty)
    new_limit = _amount("limit_price", limit_price)
    new_stop = _amount("stop_price", stop_price)
    if new_qty is None and new_limit is None and new_stop is None:
        raise InvalidIntent(
            "modify",
            "name a new qty, limit_price or stop_price",
            code=ErrorCode.E_ORDER_MODIFY_INVALID,
        )
    order = core.store.get_order(order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}", context={"order_id": order_id})
    if key is not None and not _KEY.fullmatch(key):
        raise InvalidIntent("key", "must be 1 to 128 printable characters, no spaces")
    command_key = key or core.ids.next_id("mod")
    digest = _digest(order_id, new_qty, new_limit, new_stop)
    replayed = _replay(core, order, command_key, digest)
    if replayed is not None:
        return replayed
    caps = capabilities_of(core.broker)
    if caps.modify is not Modify.NONE and not isinstance(core.broker, Modifies):
        raise ConfigError(
            f"broker {core.broker.adapter_id!r} declares modify={caps.modify} but has no "
            "modify(): declare Modify.NONE or give it one"
        )
    with core.step() as step:
        current = core.reload(step, order_id)
        pending = _plan(core, current, caps, command_key, digest, new_qty, new_limit, new_stop)
        step.record(current, ReplaceRequested(ts=core.clock.now(), replace=pending))
        if caps.modify is Modify.NONE:
            step.record(current, OrderCancelRequested(ts=core.clock.now(), reason="replace"))
    crashpoint("after_replace_persisted")
    log.info(
        "replace requested",
        order_id=order_id,
        replace=pending.number,
        client_order_id=pending.client_order_id,
    )
    send_replace(core, current, pending)
    return _answer(core, order_id, _brief(pending), replayed=False)


def _amount(name: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidIntent(
            name, f"{value!r} is not a number", code=ErrorCode.E_ORDER_MODIFY_INVALID
        ) from None
    if isinstance(value, float) or not amount.is_finite() or amount <= 0:
        raise InvalidIntent(
            name,
            f"{value!r} must be a positive decimal (as text, not a float)",
            code=ErrorCode.E_ORDER_MODIFY_INVALID,
        )
    return amount


def _digest(order_id: str, qty: Decimal | None, limit: Decimal | None, stop: Decimal | None) -> str:
    change = {"order_id": order_id, "qty": fmt(qty), "limit_price": fmt(limit)}
    change["stop_price"] = fmt(stop)
    return hashlib.sha256(json.dumps(change, sort_keys=True).encode()).hexdigest()


def _replay(core: EngineCore, order: Order, key: str, digest: str) -> ExecutionReport | None:
    """The answer to a key used before on this order (None: a new command)."""
    pending = order.pending_replace
    if pending is not None and pending.key == key:
        _same_change(pending.digest, digest, key)
        send_replace(core, order, pending)  # safe: absolute terms, applied once
        return _answer(core, order.order_id, _brief(pending), replayed=True)
    events = core.store.events_for(order.order_id)
    for index in range(len(events) - 1, -1, -1):  # the newest use of the key decides
        event = events[index]
        body = event.payload.get("replace") if event.topic == REPLACE_REQUESTED_TOPIC else None
        if isinstance(body, dict) and body.get("key") == key:
            _same_change(str(body.get("digest")), digest, key)
            if _frees_key(events[index + 1 :], body.get("number")):
                return None  # refused before anything was sent: the same key may go again
            return _answer(core, order.order_id, body, replayed=True)
    return None


def _frees_key(later: list[Any], number: object) -> bool:
    """Replace ``number`` was refused with a code that leaves its key free (the circuit
    open, a full queue: DESIGN.md, submit path step 2, as for an intent)."""
    for event in later:
        if event.payload.get("replace_no") == number and event.topic == REPLACE_REJECTED_TOPIC:
            code = ErrorCode.__members__.get(str(event.payload.get("replace_error")))
            return code is not None and not code.keeps_key
    return False


def _same_change(recorded: str, digest: str, key: str) -> None:
    if recorded != digest:
        raise IdempotencyConflict(
            f"modify key {key!r} was used for a different change of this order",
            context={"idempotency_key": key},
        )


def _plan(
    core: EngineCore,
    order: Order,
    caps: BrokerCapabilities,
    key: str,
    digest: str,
    qty: Decimal | None,
    limit: Decimal | None,
    stop: Decimal | None,
) -> PendingReplace:
    """The replace to persist for ``order`` (as read inside the step), or why not."""
    where = {"order_id": order.order_id, "status": order.status}
    if order.pending_replace is not None:
        raise OrderNotModifiable(
            f"order {order.order_id} has replace {order.pending_replace.number} pending; "
            "send the same modify again to settle it, or wait",
            context=where,
        )
    if order.status not in MODIFIABLE:
        why = "final" if order.status.is_terminal else "not working at the broker now"
        raise OrderNotModifiable(
            f"order {order.order_id} is {order.status} ({why}) and cannot be modified",
            context=where,
        )
    if limit is not None and order.order_type not in _LIMITS:
        raise InvalidIntent(
            "limit_price",
            f"order {order.order_id} is a {order.order_type} order: it has no limit price",
            code=ErrorCode.E_ORDER_MODIFY_INVALID,
        )
    if stop is not None and order.order_type not in _STOPS:
        raise InvalidIntent(
            "stop_price",
            f"order {order.order_id} is a {order.order_type} order: it has no stop price",
            code=ErrorCode.E_ORDER_MODIFY_INVALID,
        )
    total = order.qty if qty is None else qty
    new_limit = order.limit_price if limit is None else limit
    new_stop = order.stop_price if stop is None else stop
    if total <= order.filled_qty:
        raise InvalidIntent(
            "qty",
            f"the new total {fmt(total)} must be above the {fmt(order.filled_qty)} already "
            f"filled of order {order.order_id}",
            code=ErrorCode.E_ORDER_MODIFY_INVALID,
        )
    if (total, new_limit, new_stop) == (order.qty, order.limit_price, order.stop_price):
        raise InvalidIntent(
            "modify",
            f"order {order.order_id} already has these terms",
            code=ErrorCode.E_ORDER_MODIFY_INVALID,
        )
    rejection = _gate(core, order, total, new_limit, new_stop)
    if rejection is not None:
        raise OrderNotModifiable(
            f"the modify did not pass the gates: {rejection.message}",
            code=rejection.code,
            context=where,
        )
    number = order.replace_no + 1
    kind = ReplaceKind.IN_PLACE if caps.modify is Modify.REPLACE else ReplaceKind.NEW_ORDER
    return PendingReplace(
        number=number,
        client_order_id=replace_client_id(caps, order.client_order_id, number),
        kind=kind,
        qty=total,
        limit_price=new_limit,
        stop_price=new_stop,
        key=key,
        digest=digest,
        ts=core.clock.now(),
    )


def replace_client_id(caps: BrokerCapabilities, client_order_id: str, number: int) -> str:
    """The replace's client order id: ``<client_order_id>.r<number>``, or the nearest
    the broker's id rules (length, alphabet) take; the same for the same replace."""
    digest = hashlib.sha256(f"{client_order_id}\x1freplace\x1f{number}".encode()).hexdigest()
    candidates = (
        f"{client_order_id}.r{number}",
        f"{client_order_id}r{number}",
        "og" + digest[:24],
        digest[: caps.client_id_max_length],
    )
    for candidate in candidates:
        if client_order_id_problem(caps, candidate) is None:
            return candidate
    raise ConfigError(
        f"no replace id for {client_order_id!r} fits the broker's client id rules",
        context={"client_order_id": client_order_id},
    )


# ------------------------------------------------------------------ the gates


def _gate(
    core: EngineCore,
    order: Order,
    qty: Decimal,
    limit: Decimal | None,
    stop: Decimal | None,
) -> Rejection | None:
    """The gates that apply to the changed terms (module docstring, step 1)."""
    if core.gates is None:
        return None
    payload = core.store.intent_payload(order.order_id)
    if payload is None:
        return None  # an order from before intents were kept: nothing to judge it by
    data = json.loads(payload)
    data.update(qty=fmt(qty), limit_price=fmt(limit), stop_price=fmt(stop))
    data.pop("expire_at", None)  # a modify does not re-judge the order's expiry
    total = OrderIntent.parse(data)
    leaves = with_fields(total, qty=qty - order.filled_qty)
    adds = _exposure(leaves.qty, limit, stop, order) > _exposure(
        order.leaves_qty, order.limit_price, order.stop_price, order
    )
    account = order.account_id
    others = [
        o
        for o in core.store.open_orders()
        if o.account_id == account and o.order_id != order.order_id
    ]
    held = [p for p in core.store.positions(account) if p.symbol == order.symbol]
    context = GateContext(
        position=held[0] if held else Position(account_id=account, symbol=order.symbol),
        mark=core.refresh_mark(order.symbol),
        open_orders_qty=sum(
            (o.leaves_qty * o.side.sign for o in others if o.symbol == order.symbol), ZERO
        ),
        reserved_notional=lambda: reserved_notional(others, core.cash.holdings(account)),
    )
    wanted = TERM_GATES | (RISK_GATES if adds else frozenset())

    def judged(name: str) -> OrderIntent:
        return leaves if name in LEAVES_GATES else total

    check_named = getattr(core.gates, "check_named", None)
    if check_named is not None:  # the risk desk: switches and controls re-read when stale
        found: Rejection | None = check_named(wanted, judged, context)
        return found
    members = getattr(getattr(core.gates, "chain", core.gates), "gates", None)
    if members is None:  # a check that is not a chain of named gates: all of it,
        return core.gates.check(total, context)  # on the order as it would be
    for gate in members:
        if gate.name in wanted:
            check: PreTradeCheck = gate
            rejection = check.check(judged(gate.name), context)
            if rejection is not None:
                return rejection
    return None


def _exposure(qty: Decimal, limit: Decimal | None, stop: Decimal | None, order: Order) -> Decimal:
    price = limit or stop or order.arrival_price or ZERO
    return qty * price if price else qty


# ------------------------------------------------------------------ sending


def send_replace(core: EngineCore, order: Order, pending: PendingReplace) -> None:
    """Send the pending replace of ``order`` (again, when it is a repeat) and record
    what came of it."""
    if pending.kind is ReplaceKind.IN_PLACE:
        _send_in_place(core, order, pending)
    elif capabilities_of(core.broker).modify is Modify.CANCEL_REPLACE:
        _send_cancel_replace(core, order, pending)
    else:
        _send_cancel(core, order, pending)


def _call_modify(core: EngineCore, order: Order, pending: PendingReplace) -> BrokerOrder:
    broker = core.broker
    if not isinstance(broker, Modifies):
        raise ConfigError(f"broker {broker.adapter_id!r} has no modify()")
    return core.policy.call(
        "modify",
        lambda: broker.modify(
            order.client_order_id,
            new_client_order_id=pending.client_order_id,
            qty=pending.qty,
            limit_price=pending.limit_price,
            stop_price=pending.stop_price,
        ),
    )


#: Failures that prove the broker never received the call (nothing was changed).
_NOT_RECEIVED = frozenset(
    {
        ErrorCode.E_EXEC_BROKER_UNAVAILABLE,
        ErrorCode.E_EXEC_CIRCUIT_OPEN,
        ErrorCode.E_EXEC_QUEUE_FULL,
    }
)


def _send_in_place(core: EngineCore, order: Order, pending: PendingReplace) -> None:
    try:
        view = _call_modify(core, order, pending)
    except OrderGateError as exc:
        _failed_call(core, order, pending, exc)
        return
    apply_broker_view(core, view)


def _send_cancel_replace(core: EngineCore, order: Order, pending: PendingReplace) -> None:
    try:
        _call_modify(core, order, pending)
    except OrderGateError as exc:
        _failed_call(core, order, pending, exc)
        return
    # the new order counts only once the old one is confirmed canceled: look it up
    found = core.lookup(order.client_order_id)
    if found is not None:
        apply_broker_view(core, found)  # CANCELED → hand over (the engine's follow-up)


def _failed_call(
    core: EngineCore, order: Order, pending: PendingReplace, exc: OrderGateError
) -> None:
    """A modify call that failed: refused (recorded so), never received (recorded so),
    or unknown (left pending). Whatever the broker now has is applied after."""
    if isinstance(exc, BrokerRejected):
        # the broker's refusal is the record; then what it has (a fill may have raced)
        reject_pending(core, order.order_id, pending, exc.code, exc.message)
    elif exc.code in _NOT_RECEIVED:
        message = f"not received by the broker: {exc.message}"
        reject_pending(core, order.order_id, pending, exc.code, message)
    elif isinstance(exc, BrokerError):
        log.warning(
            "replace outcome unknown; recovery or the same modify again settles it",
            order_id=order.order_id,
            error=exc.message,
        )
    else:
        raise exc
    found = core.lookup(order.client_order_id)
    if found is not None:
        apply_broker_view(core, found)


def _send_cancel(core: EngineCore, order: Order, pending: PendingReplace) -> None:
    """No native modify: cancel (``cancelling.cancel``); the confirmed cancel hands
    over (the engine's follow-up). A cancel the broker refuses puts the order back to
    work on its old terms, and the replace is refused with it."""
    try:
        cancel(core, order.order_id, reason="replace")
    except OrderGateError as exc:
        if exc.code not in _NOT_RECEIVED:
            raise
    current = core.store.get_order(order.order_id)
    if (
        current is not None
        and current.pending_replace is not None
        and current.is_open
        and current.status is not S.PENDING_CANCEL
    ):
        why = current.error_message or "the broker kept the order working"
        message = f"the cancel for the replace was refused: {why}"
        reject_pending(core, order.order_id, pending, ErrorCode.E_EXEC_BROKER_REJECTED, message)


def _still_pending(core: EngineCore, order: Order) -> bool:
    current = core.store.get_order(order.order_id)
    return current is not None and current.pending_replace is not None


def reject_pending(
    core: EngineCore,
    order_id: str,
    pending: PendingReplace,
    code: ErrorCode,
    message: str,
) -> None:
    """Record that ``pending`` did not happen (if it is still the one pending)."""
    with core.step() as step:
        current = core.reload(step, order_id)
        if current.pending_replace is not None and current.pending_replace.number == pending.number:
            text = core.redactor.reason(message)
            step.record(current, ReplaceRejected(ts=core.clock.now(), code=code, message=text))


def _answer(
    core: EngineCore, order_id: str, replace: dict[str, Any], *, replayed: bool
) -> ExecutionReport:
    """The order's report, with what became of replace ``replace["number"]``."""
    order = core.order(order_id)
    report = core.report(order_id, replayed=replayed)
    number = replace["number"]
    state, replacement = "pending", None
    if order.pending_replace is None or order.pending_replace.number != number:
        state = "replaced"
        for event in reversed(core.store.events_for(order_id)):
            if event.payload.get("replace_no") == number:
                state = "rejected" if event.topic == REPLACE_REJECTED_TOPIC else "replaced"
                replacement = event.payload.get("replacement_order_id")
                break
    body = {
        "number": number,
        "client_order_id": replace["client_order_id"],
        "kind": replace["kind"],
        "key": replace["key"],
        "state": state,
        "replacement_order_id": replacement,
        "qty": fmt(order.qty),
        "limit_price": fmt(order.limit_price),
        "stop_price": fmt(order.stop_price),
    }
    return with_fields(report, extra={"replace": body})


def _brief(pending: PendingReplace) -> dict[str, Any]:
    return {
        "number": pending.number,
        "client_order_id": pending.client_order_id,
        "kind": pending.kind.value,
        "key": pending.key,
    }


# ------------------------------------------------------------------ settling


def handover(core: EngineCore, order_id: str) -> None:
    """The old order of a NEW_ORDER replace is final: record the replacement and hand
    over to it (one unit of work), then submit it (``NONE``) or adopt the broker's
    (``CANCEL_REPLACE``). Does nothing when there is nothing pending (another thread
    did it)."""
    try:
        made = _record_handover(core, order_id)
    except StaleOrder:
        return  # changed meanwhile: whoever changed it settles it
    if made is None:
        return
    replacement, intent = made
    if capabilities_of(core.broker).modify is Modify.CANCEL_REPLACE:
        view = core.lookup(replacement.client_order_id)
        if view is not None:
            apply_broker_view(core, view, replacement)
        return
    send_with_retry(core, replacement, core.order_request(replacement, intent))


def _record_handover(core: EngineCore, order_id: str) -> tuple[Order, OrderIntent] | None:
    with core.step() as step:
        old = core.reload(step, order_id)
        pending = old.pending_replace
        if pending is None or pending.kind is not ReplaceKind.NEW_ORDER or old.is_open:
            return None
        now = core.clock.now()
        left = pending.qty - old.filled_qty
        if old.status is not S.CANCELED or left <= 0:
            why = f"order {old.order_id} ended {old.status} with {fmt(old.filled_qty)} filled"
            step.record(
                old,
                ReplaceRejected(
                    ts=now,
                    code=ErrorCode.E_ORDER_MODIFY_INVALID,
                    message=f"{why}: nothing left to replace",
                ),
            )
            return None
        payload = core.store.intent_payload(old.order_id)
        if payload is None:
            raise OrderGateError(f"order {old.order_id} has no intent to replace it from")
        data = json.loads(payload)
        data.update(
            idempotency_key=f"{old.idempotency_key}.r{pending.number}",
            qty=fmt(left),
            limit_price=fmt(pending.limit_price),
            stop_price=fmt(pending.stop_price),
        )
        intent = OrderIntent.parse(data)  # its expiry, if any, is the old order's
        replacement = _create_replacement(core, step, old, pending, intent)
        step.record(old, Replaced(ts=now, replacement_order_id=replacement.order_id))
        return replacement, intent


def _create_replacement(
    core: EngineCore, step: Any, old: Order, pending: PendingReplace, intent: OrderIntent
) -> Order:
    """The replacement as the submit path records an order: intent row, order, events;
    under the replace's client order id, SUBMITTED (the gates judged the modify)."""
    canonical, payload_hash = intent.canonical()
    now = core.clock.now()
    intent_id = core.ids.next_id("int")
    order_id = core.ids.next_id("ord")
    step.tx.insert_intent(
        StoredIntent(
            intent_id,
            intent.account_id,
            intent.idempotency_key,
            payload_hash,
            canonical,
            now,
            order_id,
        )
    )
    order = Order(
        order_id=order_id,
        client_order_id=pending.client_order_id,
        idempotency_key=intent.idempotency_key,
        account_id=old.account_id,
        strategy_id=old.strategy_id,
        symbol=old.symbol,
        side=old.side,
        qty=intent.qty,
        order_type=old.order_type,
        limit_price=pending.limit_price,
        stop_price=pending.stop_price,
        time_in_force=old.time_in_force,
        created_at=now,
        updated_at=now,
        arrival_price=old.arrival_price,
        sl_offset_pct=old.sl_offset_pct,
        tp_offset_pct=old.tp_offset_pct,
    )
    step.record_created(order, intent_id, intent_digest(payload_hash, canonical))
    step.record(order, OrderSubmitted(ts=now, attempt=1))
    return order
