"""The store port: what the engine needs from persistence, and nothing more.

A :class:`Store` hands out units of work (:meth:`Store.transaction`). Everything a step
of the submit path changes — the order row, its events, fills, the position, the
outbox — is written in one unit of work, so a crash leaves either all of it or none.
Backends translate their driver's errors into :class:`PersistenceError` (or
:class:`DuplicateKey` for a unique-key clash) at this boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from ordergate.domain.errors import PersistenceError
from ordergate.domain.fills import Fill
from ordergate.domain.market import Mark
from ordergate.domain.order import Order
from ordergate.domain.positions import Position


class DuplicateKey(PersistenceError):
    """A unique key (idempotency key, client order id) is already taken."""


class StaleOrder(PersistenceError):
    """The order changed in another unit of work since it was read (optimistic lock)."""


@dataclass(frozen=True, slots=True)
class StoredIntent:
    intent_id: str
    account_id: str
    idempotency_key: str
    payload_hash: str
    payload: str
    received_at: datetime
    order_id: str


class EventRecord:
    """An event to write to the event log (``order_events``), which is also the outbox.

    ``order_id`` is None for an operational event; ``payload`` is its JSON text. The
    text may be given as a function that makes it: it is called once, when a store
    first reads ``payload`` (see ``engine/payloads.py``).
    """

    __slots__ = ("_payload", "from_status", "order_id", "to_status", "topic", "ts")

    def __init__(
        self,
        order_id: str | None,
        topic: str,
        from_status: str | None,
        to_status: str | None,
        payload: str | Callable[[], str],
        ts: datetime,
    ) -> None:
        self.order_id = order_id
        self.topic = topic
        self.from_status = from_status
        self.to_status = to_status
        self.ts = ts
        self._payload = payload

    @property
    def payload(self) -> str:
        payload = self._payload
        if not isinstance(payload, str):
            payload = self._payload = payload()
        return payload

    def __repr__(self) -> str:
        return f"EventRecord({self.order_id!r}, {self.topic!r}, {self.to_status!r}, {self.ts!r})"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    order_id: str
    topic: str
    from_status: str | None
    to_status: str | None
    payload: dict[str, Any]
    ts: datetime


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    topic: str
    key: str | None
    payload: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DailyPnl:
    trading_day: str
    strategy_id: str
    realized_gross: Decimal
    commission: Decimal
    fills: int

    @property
    def realized_pnl(self) -> Decimal:
        return self.realized_gross - self.commission


@dataclass(frozen=True, slots=True)
class StoredFill:
    """A booked fill as the risk ledger rebuilds from it (``risk.ledger.FillRecord``)."""

    account_id: str
    strategy_id: str
    symbol: str
    order_id: str
    exec_id: str
    realized_gross: Decimal
    commission: Decimal
    trading_day: str
    ts: datetime
    #: the fill's order's parent (an algorithm's, or a bracket's entry), if any
    parent_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class BookedFill:
    """A fill as stored, for the amendment path: busted or not, the realized P&L its
    row carries, and the broker's id of the last amendment applied to it."""

    fill: Fill
    realized_gross: Decimal
    busted: bool
    amend_id: str


@dataclass(frozen=True, slots=True)
class StoredKillSwitch:
    """A kill switch row (``risk.killswitch.KillSwitch`` maps onto it)."""

    kind: str
    target: str
    state: str
    reason: str
    actor: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredControl:
    """A trading control (``state`` or ``posture``) with who set it, why and when."""

    name: str
    value: str
    actor: str
    reason: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OrderQuery:
    status: Sequence[str] = ()
    symbol: str | None = None
    strategy_id: str | None = None
    account_id: str | None = None
    limit: int = 100
    offset: int = 0


class UnitOfWork(Protocol):
    """One transaction. Reads inside it see its own writes; it commits on clean exit."""

    def find_intent(self, account_id: str, idempotency_key: str) -> StoredIntent | None: ...
    def insert_intent(self, intent: StoredIntent) -> None: ...
    def insert_order(self, order: Order, intent_id: str) -> None: ...
    def update_order(self, order: Order, expected_version: int) -> None:
        """Write the order if the stored version is still ``expected_version``, else raise
        :class:`PersistenceError` (someone else changed it: optimistic locking)."""
        ...

    def get_order(self, order_id: str) -> Order | None: ...
    def order_by_client_id(self, client_order_id: str) -> Order | None: ...
    def open_orders_for(self, account_id: str, symbol: str | None = None) -> list[Order]:
        """The account's working orders in ``symbol`` (what a gate sees as pending), or
        in every symbol when ``symbol`` is None (what buying power sees reserved)."""
        ...

    def record_events(self, events: Sequence[EventRecord]) -> None:
        """Append events to the event log, which relays read as the outbox."""
        ...

    def add_receipt(
        self, order_id: str, client_order_id: str, adapter: str, raw: str, ts: datetime
    ) -> None:
        """Keep a broker's raw answer (already redacted), for 30 days by default."""
        ...

    def has_fill(self, order_id: str, exec_id: str) -> bool: ...
    def insert_fill(
        self,
        fill: Fill,
        account_id: str,
        strategy_id: str,
        realized_gross: Decimal,
        trading_day: str,
    ) -> None: ...
    def get_position(self, account_id: str, symbol: str) -> Position: ...
    def save_position(self, position: Position, ts: datetime) -> None: ...
    def save_mark(self, mark: Mark) -> None: ...

    # fill amendments (a bust or a correction of a booked fill)
    def booked_fill(self, order_id: str, exec_id: str) -> BookedFill | None:
        """The fill booked under ``exec_id``, busted or not; None when there is none."""
        ...

    def position_fills(self, account_id: str, symbol: str) -> list[Fill]:
        """The fills (not busted) of the account's position in ``symbol``, in booking order."""
        ...

    def amend_fill(
        self, before: Fill, after: Fill | None, realized_gross: Decimal, amend_id: str
    ) -> None:
        """Mark the fill ``before`` busted (``after`` None) or give it ``after``'s figures;
        its row's realized P&L becomes ``realized_gross``."""
        ...


class Store(Protocol):
    """Persistence for orders, fills, positions and events."""

    url: str

    def migrate(self) -> None: ...
    def transaction(self) -> AbstractContextManager[UnitOfWork]: ...
    def close(self) -> None: ...

    # reads outside a unit of work (each a consistent snapshot)
    def get_order(self, order_id: str) -> Order | None: ...
    def order_by_client_id(self, client_order_id: str) -> Order | None: ...
    def list_orders(self, query: OrderQuery) -> list[Order]: ...
    def open_orders(self) -> list[Order]: ...
    def fills_for(self, order_id: str) -> list[Fill]: ...
    def events_for(self, order_id: str) -> list[StoredEvent]: ...
    def positions(self, account_id: str | None = None) -> list[Position]: ...
    def marks(self) -> dict[str, Mark]: ...
    def daily_pnl(self, account_id: str | None = None) -> list[DailyPnl]: ...
    def intent_payload(self, order_id: str) -> str | None: ...
    def receipts_for(self, order_id: str) -> list[str]:
        """The raw receipts kept for an order, oldest first."""
        ...

    def fills_since(self, trading_day: str) -> list[StoredFill]:
        """Every fill booked on ``trading_day`` or later, in booking order."""
        ...

    def kill_switches(self) -> list[StoredKillSwitch]: ...
    def save_kill_switch(self, switch: StoredKillSwitch) -> None:
        """Upsert on (kind, target)."""
        ...

    def trading_controls(self) -> list[StoredControl]: ...
    def save_trading_control(self, control: StoredControl) -> None:
        """Upsert on name."""
        ...

    def outbox_after(self, last_id: int, limit: int) -> list[OutboxMessage]: ...
    def outbox_cursor(self, consumer: str) -> int: ...
    def set_outbox_cursor(self, consumer: str, last_id: int) -> None: ...
