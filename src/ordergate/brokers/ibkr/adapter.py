"""``IbkrBroker``: the broker port over ib_async (TWS / IB Gateway).

Ids (issue 13): our ``client_order_id`` travels as ``orderRef``; IB's ``permId`` is the
broker order id that lasts across sessions; the IB order id comes from
``nextValidId`` and is written to the ledger (``ids.py``) **before** ``placeOrder``.

``placeOrder`` returns no receipt: :meth:`submit` waits, within the timeout, for IB's
``openOrder`` / ``orderStatus`` or an error. IB has no look-up by ``orderRef``:
:meth:`fetch_order` re-reads open orders, completed orders and executions and scans
them. A miss is proven, not assumed: ``None`` only when the ledger shows
``placeOrder`` was never called for the id, or when TWS's ``nextValidId`` (asked
afresh) is at or below the order id the ledger holds — TWS never received it.
Otherwise the order reached TWS but is not visible: the look-up raises
:class:`BrokerTimeout` (unknown) rather than answer a miss it cannot prove.

IB dedupes nothing, so ``dedupe=NEVER``; the resend rule may resend only on those
proven misses (``lookup_miss_conclusive``).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import structlog
from ib_async import IB, Fill, Trade

from ordergate.brokers.base import OrderListener
from ordergate.brokers.ibkr import account, redact
from ordergate.brokers.ibkr.contracts import (
    Instrument,
    as_float,
    check_increments,
    contract_for,
    decimal_of,
    instrument_of,
)
from ordergate.brokers.ibkr.ids import IdLedger
from ordergate.brokers.ibkr.requests import ib_order
from ordergate.brokers.ibkr.session import IbSession
from ordergate.brokers.ibkr.settings import IbkrSettings
from ordergate.brokers.ibkr.stream import Stream
from ordergate.brokers.ibkr.translate import client_order_id_of, price_of
from ordergate.brokers.ibkr.views import Views
from ordergate.domain.capabilities import (
    BrokerCapabilities,
    ClientIdDedupe,
    Lookup,
    Modify,
    request_problems,
)
from ordergate.domain.enums import OrderStatus, OrderType, TimeInForce
from ordergate.domain.errors import (
    BrokerError,
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
)
from ordergate.domain.market import Mark
from ordergate.domain.wire import BrokerAccount, BrokerOrder, BrokerPosition, OrderRequest
from ordergate.resilience.crashpoint import crashpoint

log = structlog.get_logger("ordergate.brokers.ibkr")
T = TypeVar("T")
_DONE = ("Filled", "Cancelled", "ApiCancelled", "Inactive")

CAPABILITIES = BrokerCapabilities(
    dedupe=ClientIdDedupe.NEVER,  # orderRef is a label (BROKERS.md B2)
    lookup=Lookup.SCAN,
    lookup_miss_conclusive=True,  # proven by the ledger and nextValidId, never assumed
    client_id_max_length=40,
    order_types=frozenset(OrderType),
    time_in_force=frozenset({TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.GTD}),
    modify=Modify.REPLACE,  # placeOrder with the same order id
    native_oca=True,
    native_bracket=True,  # parentId
    stream_replays=True,  # executions re-read and pushed on every reconnect
    market_data=True,
    display_qty=True,  # the Order's displaySize
    simulated=False,
)


def _untyped(obj: object) -> Any:
    """ib_async's client and wrapper methods that carry no annotations."""
    return obj


class IbkrBroker:
    """The ``ibkr`` adapter (see the module docstring)."""

    adapter_id = "ibkr"
    capabilities = CAPABILITIES

    def __init__(
        self, block: IbkrSettings, *, account_label: str, timeout: float, ids_file: Path
    ) -> None:
        self._block = block
        self._ib_account = block.account.get_secret_value()
        self._label = account_label
        self.redact = redact.Redactor([self._ib_account, *block.secret_values()])
        redact.install(self.redact)
        self.timeout = timeout
        self._ledger = IdLedger(ids_file)
        self._instruments: dict[str, Instrument] = {}
        self._by_con_id: dict[int, str] = {}
        self._stream = Stream(block.commission_wait_s)
        self._parents = self._ledger.parents()
        self._views = Views(
            block,
            label=account_label,
            ib_account=self._ib_account,
            released=self._stream.released,
            redact=self.redact,
            by_con_id=self._by_con_id,
            parents=self._parents,
        )
        self._next_valid: asyncio.Future[int] | None = None
        self.session = IbSession(
            host=block.host,
            port=block.port,
            client_id=block.client_id,
            connect_timeout=block.connect_timeout_s,
            reconnect_s=block.reconnect_s,
            max_messages_per_s=block.max_messages_per_s,
            on_connected=self._synced,
            on_restored=self._reread,
            redact=self.redact,
        )

    @property
    def dedupes_client_order_id(self) -> bool:
        return self.capabilities.dedupes_client_order_id

    @property
    def stream_up(self) -> bool:
        """Order tracking polls while this is False (socket down, or TWS cut off)."""
        return self.session.ready() and not self.session.cut_off

    def _call(self, make: Coroutine[Any, Any, T], what: str, timeout: float | None = None) -> T:
        return self.session.call(lambda: make, timeout or self.timeout, what)

    # ------------------------------------------------------------ submit

    def submit(self, request: OrderRequest) -> BrokerOrder:
        problems = request_problems(self.capabilities, request)
        if problems:
            raise BrokerRejected(
                "; ".join(problems), context={"client_order_id": request.client_order_id}
            )
        cid = request.client_order_id
        parent_id = 0
        parent_cid = request.parent_client_order_id
        if parent_cid:
            parent = self._ledger.get(parent_cid)
            if parent is None:
                raise BrokerRejected(
                    f"parent order {parent_cid} was never placed at IB",
                    context={"client_order_id": cid},
                )
            # IB's parentId ties a child to a working parent; a child of a parent that
            # has filled (how the engine sends protection) is held by its OCA group
            if self._call(self._working(parent_cid), "the parent's status"):
                parent_id = parent.order_id
            self._parents[cid] = parent_cid
        instrument = self._call(self._instrument(request.symbol), "contract details")
        order = ib_order(request, instrument, account=self._ib_account, parent_id=parent_id)
        order.orderId = self._call(self._allocate(), "an order id")
        # the id is durable before placeOrder: a later miss can be proven
        self._ledger.reserve(cid, order.orderId, self._block.client_id, parent_cid)
        trade = self._call(self._place(instrument, order), "placeOrder")
        crashpoint("after_send")
        try:
            view = self._call(self._acked(trade, request.symbol), "placeOrder", self.timeout + 1)
        except BrokerTimeout:
            raise BrokerTimeout(
                f"IB order id {order.orderId} ({cid}) was sent; no answer within "
                f"{self.timeout:g}s: the outcome is unknown",
                context={"client_order_id": cid},
            ) from None
        crashpoint("after_reply")
        if view.status is OrderStatus.REJECTED:
            raise BrokerRejected(
                view.reason or "IB rejected the order", context={"client_order_id": cid}
            )
        self._ledger.note_perm_id(cid, int(view.raw.get("permId") or 0))
        return view

    async def _working(self, cid: str) -> bool:
        trade = self._find(await self._ib(), cid)
        return trade is not None and trade.orderStatus.status not in _DONE

    async def _allocate(self) -> int:
        ib = await self._ib(sending=True)
        return int(ib.client.getReqId())

    async def _place(self, instrument: Instrument, order: Any) -> Trade:
        ib = await self._ib(sending=True)
        return ib.placeOrder(instrument.contract, order)

    async def _acked(self, trade: Trade, symbol: str) -> BrokerOrder:
        """Wait for ``openOrder`` / ``orderStatus`` (a permId) or an error ending it."""
        while True:
            done = trade.orderStatus.status in _DONE
            if (trade.order.permId and trade.orderStatus.status != "PendingSubmit") or done:
                return self._view(trade, symbol)
            await asyncio.sleep(0.005)

    # ----------------------------------------------------------- look-up

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        placed = self._ledger.get(client_order_id)
        found, next_id = self._call(self._look(client_order_id, placed is not None), "a look-up")
        if found is not None:
            return found
        if placed is None:
            return None  # placeOrder was never called for it
        if placed.ib_client_id == self._block.client_id and next_id <= placed.order_id:
            return None  # TWS's next valid id proves it never received order placed.order_id
        raise BrokerTimeout(
            f"IB received order id {placed.order_id} ({client_order_id}; nextValidId is "
            f"{next_id}) but shows no such order yet: the outcome is unknown",
            context={"client_order_id": client_order_id},
        )

    async def _look(self, cid: str, ask_next_id: bool) -> tuple[BrokerOrder | None, int]:
        ib = await self._refreshed()
        trade = self._find(ib, cid)
        if trade is not None:
            return self._view(trade), 0
        return None, (await self._next_valid_id(ib) if ask_next_id else 0)

    async def _refreshed(self) -> IB:
        """Open orders, completed orders and executions re-read from TWS."""
        ib = await self._ib()
        assert self.session.requests is not None
        async with self.session.requests:
            await ib.reqOpenOrdersAsync()
            await ib.reqCompletedOrdersAsync(False)
            await ib.reqExecutionsAsync()
        return ib

    async def _next_valid_id(self, ib: IB) -> int:
        """TWS's next valid order id, asked afresh (one question at a time)."""
        assert self.session.requests is not None
        async with self.session.requests:
            self._next_valid = asyncio.get_running_loop().create_future()
            _untyped(ib.client).reqIds(1)
            return await self._next_valid

    def _find(self, ib: IB, cid: str) -> Trade | None:
        """The newest order TWS has confirmed with ``orderRef`` = ``cid`` (a trade
        ib_async made at ``placeOrder`` and TWS never answered proves nothing)."""
        mine = [
            t
            for t in ib.wrapper.trades.values()
            if client_order_id_of(t) == cid
            and (t.order.permId or t.orderStatus.status != "PendingSubmit")
        ]
        return max(mine, key=lambda t: (t.order.permId, t.order.orderId), default=None)

    def fetch_open_orders(self) -> list[BrokerOrder]:
        return self._call(self._open(), "open orders")

    async def _open(self) -> list[BrokerOrder]:
        ib = await self._refreshed()
        return [
            self._view(t) for t in ib.wrapper.trades.values() if t.orderStatus.status not in _DONE
        ]

    # ------------------------------------------------------------ cancel

    def cancel(self, client_order_id: str) -> BrokerOrder:
        return self._call(self._cancel(client_order_id), "cancel")

    async def _cancel(self, cid: str) -> BrokerOrder:
        ib = await self._ib()
        trade = self._find(ib, cid)
        if trade is None:
            ib = await self._refreshed()
            trade = self._find(ib, cid)
        if trade is None:
            raise BrokerRejected(
                f"IB has no order {cid} to cancel", context={"client_order_id": cid}
            )
        if trade.orderStatus.status in _DONE:
            view = self._view(trade)
            if view.status is OrderStatus.FILLED:
                return view
            raise BrokerRejected(
                f"order {cid} is already final at IB ({trade.orderStatus.status})",
                context={"client_order_id": cid},
            )
        if trade.order.clientId != self._block.client_id or not trade.order.orderId:
            raise BrokerRejected(
                f"order {cid} was placed by another IB client id; only that client can cancel it",
                context={"client_order_id": cid},
            )
        await self._ib(sending=True)
        ib.cancelOrder(trade.order)
        deadline = time.monotonic() + min(self.timeout / 2, 1.0)
        while trade.orderStatus.status == "PendingCancel" and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        return self._view(trade)

    # ------------------------------------------------------------ modify

    def modify(
        self,
        client_order_id: str,
        *,
        new_client_order_id: str,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder:
        """IB's own modify: ``placeOrder`` again with the same order id (the order keeps
        its ids, ``new_client_order_id`` is not used)."""
        return self._call(self._modify(client_order_id, qty, limit_price, stop_price), "modify")

    async def _modify(
        self, cid: str, qty: Decimal | None, limit: Decimal | None, stop: Decimal | None
    ) -> BrokerOrder:
        ib = await self._ib(sending=True)
        trade = self._find(ib, cid)
        if trade is None or trade.orderStatus.status in _DONE:
            raise BrokerRejected(
                f"IB has no working order {cid} to modify", context={"client_order_id": cid}
            )
        symbol = self._symbol_of(trade)
        instrument = await self._instrument(symbol)
        prices = {k: v for k, v in (("limit_price", limit), ("stop_price", stop)) if v is not None}
        check_increments(
            instrument, qty if qty is not None else decimal_of(trade.order.totalQuantity), prices
        )
        order = copy.copy(trade.order)
        if qty is not None:
            order.totalQuantity = as_float(qty, "qty", symbol)
        if limit is not None:
            order.lmtPrice = as_float(limit, "limit_price", symbol)
        if stop is not None:
            order.auxPrice = as_float(stop, "stop_price", symbol)
        ib.placeOrder(trade.contract, order)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if limit is None or price_of(trade.order.lmtPrice) == limit:
                break
            await asyncio.sleep(0.005)
        return self._view(trade)

    # ---------------------------------------------------- positions, account

    def fetch_positions(self) -> list[BrokerPosition]:
        return self._call(self._positions(), "positions")

    async def _positions(self) -> list[BrokerPosition]:
        ib = await self._ib()
        return await account.positions(ib, self._ib_account, self._label, self._views.symbol_of)

    def fetch_account(self) -> BrokerAccount:
        return self._call(self._account(), "the account summary")

    async def _account(self) -> BrokerAccount:
        return await account.summary(await self._ib(), self._ib_account, self._label)

    # ------------------------------------------------------- market data

    def fetch_quote(self, symbol: str) -> Mark | None:
        return self._call(self._quote(symbol), "a quote")

    async def _quote(self, symbol: str) -> Mark | None:
        ib = await self._ib()
        return await account.quote(ib, (await self._instrument(symbol)).contract, symbol)

    def instrument(self, symbol: str) -> Instrument:
        """IB's tick and lot for ``symbol`` (from the contract details), for the gates."""
        return self._call(self._instrument(symbol), "contract details")

    def tick_size(self, symbol: str) -> Decimal | None:
        """IB's ``minTick`` of ``symbol`` (the engine's ``InstrumentInfo`` port), or None
        when IB cannot be asked now."""
        try:
            return self.instrument(symbol).tick
        except BrokerError:
            return None

    def lot_size(self, symbol: str) -> Decimal | None:
        """IB's size increment of ``symbol``, or None when IB cannot be asked now."""
        try:
            return self.instrument(symbol).lot
        except BrokerError:
            return None

    async def _instrument(self, symbol: str) -> Instrument:
        known = self._instruments.get(symbol)
        if known is not None:
            return known
        ib = await self._ib()
        details = await ib.reqContractDetailsAsync(contract_for(symbol, self._block))
        if len(details) != 1:
            raise BrokerRejected(
                f"IB finds {len(details)} contracts for {symbol}: describe it in the "
                "ibkr block's contracts (sec_type, exchange, currency, last_trade)",
                context={"symbol": symbol},
            )
        instrument = instrument_of(symbol, details[0], self._block)
        self._instruments[symbol] = instrument
        self._by_con_id[instrument.contract.conId] = symbol
        return instrument

    # ------------------------------------------------------------- stream

    def subscribe(self, listener: OrderListener) -> None:
        self._stream.listeners.append(listener)
        self.session.keep_connected()

    async def _synced(self, ib: IB) -> None:
        """On every (re)connection: hook the stream, push every order ib_async loaded
        (its executions re-read by the start-up ``reqExecutions``)."""
        _untyped(ib.wrapper).nextValidId = self._on_next_valid_id  # the decoder looks it up
        ib.orderStatusEvent += self._push
        ib.openOrderEvent += self._push
        ib.execDetailsEvent += self._on_fill
        ib.commissionReportEvent += lambda trade, fill, report: self._push(trade)
        for trade in list(ib.wrapper.trades.values()):
            self._push(trade)

    async def _reread(self, ib: IB) -> None:
        await self._refreshed()
        for trade in list(ib.wrapper.trades.values()):
            self._push(trade)

    def _on_next_valid_id(self, order_id: int) -> None:
        if self._next_valid is not None and not self._next_valid.done():
            self._next_valid.set_result(order_id)

    def _on_fill(self, trade: Trade, fill: Fill) -> None:
        self._stream.arrived(fill)
        self._push(trade)
        wait = self._block.commission_wait_s
        self.session.loop.call_later(wait + 0.01, self._push, trade)

    def _push(self, trade: Trade) -> None:
        if self._stream.listeners:
            self._stream.put(self._view(trade))

    # -------------------------------------------------------- translation

    async def _ib(self, *, sending: bool = False) -> IB:
        ib = await self.session.connected()
        if sending and self.session.cut_off:
            raise BrokerUnavailable("TWS has lost its connection to IB (1100); nothing was sent")
        return ib

    def _view(self, trade: Trade, symbol: str | None = None) -> BrokerOrder:
        return self._views.view(self.session.ib, trade, symbol)

    def _symbol_of(self, trade: Trade) -> str:
        return self._views.symbol_of(trade.contract)

    def close(self) -> None:
        self.session.close()
        self._stream.close()
        self._ledger.close()
