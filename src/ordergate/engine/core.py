"""What every step of the engine works with: its ports, its units of work, its marks.

:class:`EngineCore` holds the store, the broker and its call policy, the clock, the ids,
the bus, the gates, the cash ledger and the marks, and gives the steps what they share:
a unit of work (:meth:`EngineCore.step`), an order re-read inside one, a look-up at the
broker by ``client_order_id``, the request an order is sent as. The steps themselves
(accepting, sending, updates, cancelling, recovery, tracking) are modules that take the
core; :class:`~ordergate.engine.engine.ExecutionEngine` is the public face over them.

Work that follows an update — child orders to send, siblings to cancel — is returned
by the update step and handed to one place, the core's :class:`ChildOrders` port
(the engine implements it; brackets use it now, execution algorithms next).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from dataclasses import replace as with_fields
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import structlog

from ordergate.brokers.base import BrokerAdapter, CurrencyAware, MarketDataSink, QuoteSource
from ordergate.bus.memory import InProcessBus
from ordergate.clock import Clock, IdGenerator, RandomIds, SystemClock
from ordergate.domain.capabilities import BrokerCapabilities
from ordergate.domain.enums import OrderStatus, TradingMode
from ordergate.domain.errors import BrokerError, ConfigError, OrderNotFound
from ordergate.domain.events import SCHEMA_VERSION
from ordergate.domain.fills import Fill
from ordergate.domain.frozen import fast_init
from ordergate.domain.intent import OrderIntent
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.order import Order
from ordergate.domain.wire import BrokerOrder, OrderRequest
from ordergate.engine.brackets import oco_group
from ordergate.engine.cash import CashCheck, CashLedger
from ordergate.engine.payloads import TermsCache
from ordergate.engine.ports import (
    BrokerCallPolicy,
    DirectCall,
    InstrumentInfo,
    IntentAdjuster,
    PreTradeCheck,
)
from ordergate.engine.queries import EngineQueries
from ordergate.engine.recorder import Step, StepContext
from ordergate.obs.redact import Redactor
from ordergate.resilience.retry import RetryPolicy
from ordergate.store.base import Store

log = structlog.get_logger("ordergate.engine")

#: The cash an account starts with when the composition root is not asked otherwise
#: (the paper account's default, ``paper_starting_cash``).
DEFAULT_STARTING_CASH = Decimal(1_000_000)


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineConfig:
    """How the engine behaves; built from settings by the composition root."""

    mode: TradingMode = TradingMode.PAPER
    #: Seed 003's dry run: the composition root gives the engine the paper venue and a
    #: store of its own instead of the broker and the real store; every report says
    #: ``simulated``. Nothing reaches a broker, nothing touches the real book.
    dry_run: bool = False
    #: Trading days (daily P&L, daily limits) roll over at midnight in this zone.
    trading_timezone: str = "UTC"
    #: A mark older than this is stale: where the broker supplies market data, the
    #: engine asks it for a quote before it gates an order (None: never stale).
    mark_max_age_s: float | None = 5.0


@fast_init
@dataclass(frozen=True, slots=True)
class Settled:
    """An order as one unit of work left it, with the fills that step booked."""

    order: Order
    fills: list[Fill]

    @property
    def complete(self) -> bool:
        """True when those fills are all the order has (its report needs no read)."""
        booked = ZERO
        for fill in self.fills:  # a loop, not sum() over a generator: one frame less
            booked += fill.last_qty
        return self.order.filled_qty == booked


@dataclass(slots=True)
class FollowUp:
    """What an update leaves to do once it has committed: child orders to send (each
    with the client order id of the order it protects) and orders to cancel."""

    children: list[tuple[Order, OrderIntent, str]] = field(default_factory=list)
    cancels: list[tuple[str, str]] = field(default_factory=list)
    #: legs recorded but held back by the engine (armed), to watch on every mark
    armed: list[Order] = field(default_factory=list)
    #: held legs to send now (their working sibling was canceled for them)
    release: list[str] = field(default_factory=list)
    #: orders whose replace by a new order can hand over now (they ended)
    handovers: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.children or self.cancels or self.armed or self.release or self.handovers)


class ChildOrders(Protocol):
    """The one place where follow-up work is carried out (the child-order port)."""

    def carry_out(self, work: FollowUp) -> None: ...

    def armed_mark(self, symbol: str, last: Decimal) -> None:
        """A mark of a symbol with armed legs: trigger those it reaches."""
        ...


#: The ``reason`` of a bracket leg the engine holds back instead of sending (a broker
#: whose working orders reserve quantity, with no native OCO): it stays PENDING, armed,
#: until the market reaches it; then its working sibling is canceled and it is sent.
ARMED = "armed"


def is_armed(order: Order) -> bool:
    """A held bracket leg, not sent yet."""
    return order.status is OrderStatus.PENDING and order.reason == ARMED


def client_order_id_for(account_id: str, idempotency_key: str) -> str:
    """Our id at the broker, derived from the key: a resend after a crash reuses it.

    ``og`` and 24 hex digits (96 bits of sha256): short enough for every broker we
    know, and the same for the same account and key, always.
    """
    return "og" + hashlib.sha256(f"{account_id}\x1f{idempotency_key}".encode()).hexdigest()[:24]


def capabilities_of(broker: object) -> BrokerCapabilities:
    """What the adapter declares; the safe defaults (no dedupe, no conclusive miss)
    for an adapter that declares nothing."""
    caps = getattr(broker, "capabilities", None)
    return caps if isinstance(caps, BrokerCapabilities) else BrokerCapabilities()


class EngineCore(EngineQueries):
    """The engine's ports and shared mechanics (see the module)."""

    def __init__(
        self,
        store: Store,
        broker: BrokerAdapter,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        gates: PreTradeCheck | None = None,
        call_policy: BrokerCallPolicy | None = None,
        bus: InProcessBus | None = None,
        config: EngineConfig | None = None,
        retry: RetryPolicy | None = None,
        adjuster: IntentAdjuster | None = None,
        redactor: Redactor | None = None,
        instruments: InstrumentInfo | None = None,
        cash: CashLedger | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.clock = clock or SystemClock()
        self.ids = ids or RandomIds()
        self.gates = gates
        #: may change an order's terms before it is built (the risk desk in EMERGENCY)
        self.adjuster = adjuster
        #: scrubs credentials from raw broker receipts before they are kept
        self.redactor = redactor or Redactor()
        #: tick sizes, so that bracket prices land on the instrument's grid
        self.instruments = instruments
        self.policy = call_policy or DirectCall()
        self.bus = bus or InProcessBus()
        self.config = config or EngineConfig()
        self.simulated = self.config.dry_run
        if self.simulated and not capabilities_of(broker).simulated:
            raise ConfigError(
                f"a dry run sends nothing to a broker, but {broker.adapter_id!r} is not a "
                "simulated venue: build the engine with bootstrap.build_runtime, which gives a "
                "dry run the paper venue"
            )
        #: When and how often a failed submit is tried again (default: never).
        self.retry = retry or RetryPolicy()
        self._tz = ZoneInfo(self.config.trading_timezone)
        #: cash per account, moved by every fill booked (buying power, equity)
        self.cash = cash or CashLedger(DEFAULT_STARTING_CASH)
        self.cash.rebuild(store.positions())
        self.terms = TermsCache()
        #: order id → the gates' warnings, from the check until the submit's report
        self.warnings: dict[str, tuple[str, ...]] = {}
        self._marks: dict[str, Mark] = store.marks()
        self._marks_lock = threading.Lock()
        #: called with the symbol after every mark (the equity feed of the risk desk)
        self._mark_listeners: list[Callable[[str], None]] = []
        #: the broker, when it simulates from our marks (asked once: a protocol check is slow)
        self._sink = broker if isinstance(broker, MarketDataSink) else None
        #: the broker, when it supplies quotes (the market-data port in LIVE)
        self.quotes = (
            broker
            if capabilities_of(broker).market_data and isinstance(broker, QuoteSource)
            else None
        )
        #: the currency fees are booked in (the broker's account's; None: only fees
        #: that name no currency are booked, others are recorded with their fill)
        self.account_currency = (
            broker.account_currency if isinstance(broker, CurrencyAware) else None
        )
        #: where follow-up work goes (the engine sets itself; None: dropped, logged)
        self.children: ChildOrders | None = None
        #: bracket legs held by the engine (armed), by symbol: rebuilt from the store
        self.armed: dict[str, set[str]] = {}
        for order in store.open_orders():
            if is_armed(order):
                self.armed.setdefault(order.symbol, set()).add(order.order_id)
        self.attach()

    def attach(self) -> None:
        """Called once the core is built: the engine connects the broker's stream and
        its child-order port here."""

    # ---------------------------------------------------------- mechanics

    def step(self) -> Any:
        """One unit of work (see ``recorder.StepContext``)."""
        return StepContext(self.store, self.bus, self._tz, self.terms, self.cash)

    _step = step

    @staticmethod
    def reload(step: Step, order_id: str) -> Order:
        """The order as stored, inside ``step``."""
        order = step.tx.get_order(order_id)
        if order is None:
            raise OrderNotFound(f"no order {order_id}", context={"order_id": order_id})
        return order

    _reload = reload

    def lookup(self, client_order_id: str) -> BrokerOrder | None:
        """The broker's view of an order by our id; None when it has none or the call
        failed (the caller cannot tell those apart: it must not conclude anything)."""
        try:
            return self.policy.call("fetch_order", lambda: self.broker.fetch_order(client_order_id))
        except BrokerError:
            return None

    _lookup = lookup

    def order_request(
        self, order: Order, intent: OrderIntent, parent_client_id: str | None = None
    ) -> OrderRequest:
        """What the broker is sent for ``order``."""
        return OrderRequest(
            client_order_id=order.client_order_id,
            account_id=order.account_id,
            symbol=order.symbol,
            side=order.side,
            qty=order.qty,
            order_type=order.order_type,
            time_in_force=order.time_in_force,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            expire_at=intent.expire_at,
            parent_client_order_id=parent_client_id,
            oco_group=None if parent_client_id is None else oco_group(parent_client_id, order),
            product=intent.wire_product,
            variety=intent.wire_variety,
            display_qty=None if intent.display_qty is None else min(intent.display_qty, order.qty),
        )

    def carry_out(self, work: FollowUp) -> None:
        """Hand follow-up work to the child-order port."""
        if not work:
            return
        if self.children is None:
            log.error("follow-up work with no child-order port", children=len(work.children))
            return
        self.children.carry_out(work)

    def record_event(self, topic: str, key: str | None, body: Mapping[str, Any]) -> None:
        """Record an event of no order (ops, risk) in the chain and the outbox, in its own
        unit of work; published on the bus after the commit."""
        with self.step() as step:
            step.emit(topic, key, dict(body), self.clock.now())

    def subscribe(self, pattern: str, handler: Callable[..., None]) -> Callable[[], None]:
        return self.bus.subscribe(pattern, handler)

    def on_marked(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(symbol)`` after every mark, in the marking thread (cheaper
        than a bus subscription, which builds an event body per mark)."""
        self._mark_listeners.append(listener)

    # ------------------------------------------------------------ market

    def mark(
        self,
        symbol: str,
        last: Any,
        bid: Any = None,
        ask: Any = None,
        volume: Any = None,
        *,
        seq: int | None = None,
    ) -> Mark:
        """Tell the engine (and a simulating broker) the market for ``symbol``; the mark
        in effect is returned. ``seq``, the source's sequence number (a bus mark's), makes
        a mark older than the one in effect change nothing, here and in the store
        (:attr:`Mark.seq`)."""
        data = {"last": last, "bid": bid, "ask": ask, "volume": volume}
        mark = Mark.parse(symbol, data, self.clock.now())
        if seq is not None:  # a copy only for a number to carry (a backtest marks every tick)
            mark = with_fields(mark, seq=seq)
        with self._marks_lock:
            current = self._marks.get(mark.symbol)
        if current is not None and not mark.newer_than(current):
            return current
        with self.store.transaction() as tx:  # a mark is no order event: no step
            tx.save_mark(mark)
        with self._marks_lock:
            current = self._marks.get(mark.symbol)
            if current is not None and not mark.newer_than(current):
                return current  # a newer one got here meanwhile
            if mark.seq is None and current is not None and current.seq is not None:
                mark = with_fields(mark, seq=current.seq)  # the sequence stays in effect
            self._marks[mark.symbol] = mark
        if self._sink is not None:
            self._sink.on_mark(mark)
        for listener in self._mark_listeners:
            listener(mark.symbol)
        if self.armed.get(mark.symbol) and self.children is not None:
            self.children.armed_mark(mark.symbol, mark.last)
        if self.bus.has_subscribers("market.mark"):  # in-process only: not an order event
            body = {"schema_version": SCHEMA_VERSION, "topic": "market.mark", **mark.to_dict()}
            self.bus.publish("market.mark", mark.symbol, body)
        return mark

    def current_mark(self, symbol: str) -> Mark | None:
        return self._marks.get(symbol)

    def refresh_mark(self, symbol: str) -> Mark | None:
        """The market-data port: with no fresh mark of ``symbol``, ask the broker's
        quotes (where it supplies them) and mark what it says. Gates, buying power and
        slippage then read it as any mark. A failed quote leaves the gates to say
        there is no market data: nothing is guessed."""
        quotes = self.quotes
        with self._marks_lock:
            current = self._marks.get(symbol)
        max_age = self.config.mark_max_age_s
        if current is not None and (
            quotes is None
            or max_age is None
            or (self.clock.now() - current.ts).total_seconds() <= max_age
        ):
            return current
        if quotes is None:
            return None
        try:
            quote = self.policy.call("fetch_quote", lambda: quotes.fetch_quote(symbol))
        except BrokerError as exc:
            log.warning("quote not available", symbol=symbol, error=exc.message)
            return current
        if quote is None:
            return current
        return self.mark(symbol, quote.last, quote.bid, quote.ask, quote.volume)

    def check_cash(
        self,
        account_id: str = "default",
        *,
        calibrate: bool = False,
        tolerance: Decimal = Decimal("0.01"),
    ) -> CashCheck | None:
        """Our cash beside the broker's account; ``calibrate`` (LIVE, at start) takes the
        broker's figure as the truth. ``None`` when the broker does not answer."""
        try:
            account = self.policy.call("fetch_account", self.broker.fetch_account)
        except BrokerError as exc:
            log.warning("broker account not available", error=exc.message)
            return None
        if calibrate:
            self.cash.calibrate(account_id, account.cash)
        check = self.cash.compare(account_id, account.cash, tolerance)
        if not check.matches:
            log.warning(
                "cash differs from the broker's",
                account_id=account_id,
                ours=str(check.ours),
                broker=str(check.broker),
            )
        return check
