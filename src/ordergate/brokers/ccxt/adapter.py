"""``CcxtBroker``: the broker port over ccxt's unified API.

- Numbers: ccxt is told to answer strings (``exchange.number = str``), which become
  ``Decimal``; what we send goes through ccxt's own ``amount_to_precision`` /
  ``price_to_precision`` first, and an order whose quantity or price ccxt would change
  (off the lot or the tick, or a float that prints another number) is refused with our
  code before any request leaves.
- Our client id goes as ccxt's ``clientOrderId`` (Binance's ``newClientOrderId``), and a
  look-up asks by it (``origClientOrderId``) in each watched symbol. Binance refuses a
  repeated id only while the first order is open: declared ``WHILE_OPEN``, so the
  engine never resends blind once an order may have filled.
- Executions are the order's trades (``fetch_my_trades``), each fee exactly, with its
  currency (``Execution.fee_currency``): the engine books a fee in the account's cash
  currency (``account_currency``) and records one in the base or a third asset (BNB)
  with its fill, never turning it into cash; the receipt's ``fees`` keep them all.
- Quotes (``fetch_ticker``: last, best bid and ask) are the market-data port, declared
  where the exchange has a ticker.
- Updates by polling every ``poll_interval_s``: new trades of the watched symbols
  (foreign orders included) and every order we know to be working; ccxt's rate
  limiter stays on, and every call also waits in our queue above it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

import ccxt
import structlog

from ordergate.brokers.base import OrderListener
from ordergate.brokers.ccxt.errors import DuplicateOrder, NotFound, translate
from ordergate.brokers.ccxt.redact import mask
from ordergate.domain.capabilities import (
    BrokerCapabilities,
    ClientIdDedupe,
    Lookup,
    request_problems,
)
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import BrokerError, BrokerRejected, BrokerTimeout, ErrorCode
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO, fmt
from ordergate.domain.wire import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    Execution,
    OrderRequest,
)
from ordergate.resilience.crashpoint import crashpoint
from ordergate.resilience.ratelimit import WindowThrottle
from ordergate.risk.limits import InstrumentLimits, InstrumentSpec

log = structlog.get_logger("ordergate.brokers.ccxt")

#: Binance spot (BROKERS.md B3): ids of at most 36 of ``[.A-Z:/a-z0-9_-]``
BINANCE_CAPABILITIES = BrokerCapabilities(
    dedupe=ClientIdDedupe.WHILE_OPEN,
    lookup=Lookup.BY_CLIENT_ID,
    lookup_miss_conclusive=False,
    client_id_max_length=36,
    client_id_alphabet=r"[.A-Z:/a-z0-9_-]+",
    # STOP is Binance's STOP_LOSS, STOP_LIMIT its STOP_LOSS_LIMIT (ccxt's triggerPrice)
    order_types=frozenset(OrderType),
    time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
    reserves_quantity=True,  # an open sell locks the base asset
    market_data=True,  # GET /api/v3/ticker/24hr
)
#: any other exchange: the safe side of every field, looked up by scanning
GENERIC_CAPABILITIES = BrokerCapabilities(
    dedupe=ClientIdDedupe.NEVER,
    lookup=Lookup.SCAN,
    client_id_max_length=32,
    client_id_alphabet=r"[A-Za-z0-9_-]+",
    order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}),
    time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
    reserves_quantity=True,
)
_TYPES = {
    "market": OrderType.MARKET,
    "limit": OrderType.LIMIT,
    "stop_loss": OrderType.STOP,
    "stop_loss_limit": OrderType.STOP_LIMIT,
}
_STATUS = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "canceling": OrderStatus.PENDING_CANCEL,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


def capabilities_for(exchange: str) -> BrokerCapabilities:
    return BINANCE_CAPABILITIES if exchange == "binance" else GENERIC_CAPABILITIES


def dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


class CcxtBroker:
    """The broker port over one ccxt exchange."""

    adapter_id = "ccxt"

    def __init__(
        self,
        *,
        exchange: str,
        api_key: str,
        secret: str,
        symbols: Sequence[str],
        urls: dict[str, Any] | None = None,
        cash_currency: str | None = None,
        timeout: float = 2.0,
        poll_interval_s: float = 1.0,
        rate_limit: int = 600,
        rate_window_s: float = 60.0,
    ) -> None:
        if not hasattr(ccxt, exchange):
            raise BrokerError(f"ccxt has no exchange {exchange!r}", code=ErrorCode.E_CONFIG_INVALID)
        if not symbols:
            raise BrokerError(
                "the ccxt adapter needs ORDERGATE_CCXT_SYMBOLS (the symbols it trades and polls)",
                code=ErrorCode.E_CONFIG_INVALID,
            )
        mask(api_key, secret)
        config: dict[str, Any] = {
            "apiKey": api_key,
            "secret": secret,
            "enableRateLimit": True,  # ccxt's limiter stays on; ours queues above it
            "timeout": int(timeout * 1000),
            "options": {
                "fetchCurrencies": False,  # private sapi calls we do not need
                "fetchMargins": False,
                "fetchMarkets": {"types": ["spot"]},
                "maxRetriesOnFailure": 0,  # never a blind retry of a POST
            },
        }
        if urls:
            config["urls"] = urls
        self._ex: Any = getattr(ccxt, exchange)(config)
        self._ex.number = str  # answers as strings: Decimal without a float between
        self._submitting = threading.local()
        # every HTTP request ccxt makes (a markets load inside a call included) waits in
        # our queue first, then in ccxt's own limiter
        send = self._ex.fetch

        def fetch(*args: Any, **kwargs: Any) -> Any:
            self.limiter.acquire()
            try:
                return send(*args, **kwargs)
            finally:
                self.limiter.answered()  # the slot counts from the answer

        self._ex.fetch = fetch
        self._ex.session.hooks["response"].append(self._on_response)
        self.exchange = exchange
        self.capabilities = capabilities_for(exchange)
        if not self._ex.has.get("fetchTicker"):
            self.capabilities = replace(self.capabilities, market_data=False)
        self.symbols = list(symbols)
        self.cash_currency = cash_currency or self.symbols[0].split("/")[1]
        # a margin over the window: a grant's request may reach the exchange a little late
        self.limiter = WindowThrottle(
            rate_limit, rate_window_s * 1.02 + 0.05, name=f"{exchange} rate limit"
        )
        self.poll_interval_s = poll_interval_s
        self._lock = threading.Lock()
        self._markets_loaded = False
        self._symbol_of: dict[str, str] = {}  # client id -> symbol
        self._working: dict[str, tuple[str, str]] = {}  # client id -> (symbol, exchange id)
        self._trades: dict[str, list[dict[str, Any]]] = {}  # final orders' trades
        self._last_trade: dict[str, int] = {}
        self._pushed: dict[str, tuple[OrderStatus, Decimal]] = {}
        self._listeners: list[OrderListener] = []
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._account: str | None = None

    @property
    def dedupes_client_order_id(self) -> bool:
        return self.capabilities.dedupes_client_order_id

    # ---------------------------------------------------------------- the port

    def submit(self, request: OrderRequest) -> BrokerOrder:
        cid = request.client_order_id
        # a bracket leg's OCO group is the engine's to hold: not sent, not a refusal
        checked = replace(request, oco_group=None)
        if request.order_type is OrderType.MARKET:
            # a market order takes no time in force on a spot exchange (the engine's
            # default DAY means nothing to it); a DAY *limit* is refused: it would rest
            # for ever on a 24/7 market
            checked = replace(checked, time_in_force=TimeInForce.GTC)
        problems = request_problems(self.capabilities, checked)
        if problems:
            raise BrokerRejected(
                f"{self.exchange} cannot take this order: " + "; ".join(problems),
                code=ErrorCode.E_INTENT_INVALID,
                context={"client_order_id": cid},
            )
        amount, price, stop = self._check_terms(request)
        params: dict[str, Any] = {"clientOrderId": cid}
        if request.order_type.needs_limit_price:
            params["timeInForce"] = request.time_in_force.value
        kind = "market" if request.order_type in (OrderType.MARKET, OrderType.STOP) else "limit"
        if stop is not None:
            params["triggerPrice"] = stop
        side = request.side.value.lower()
        with self._lock:
            self._symbol_of[cid] = request.symbol
        self._submitting.active = True
        try:
            order = self._call(
                "submit",
                lambda: self._ex.create_order(request.symbol, kind, side, amount, price, params),
                writes=True,
            )
        except DuplicateOrder:
            found = self.fetch_order(cid)
            if found is None:
                raise BrokerTimeout(
                    f"{self.exchange} says order {cid} exists but does not show it yet; "
                    "the outcome is unknown",
                    context={"client_order_id": cid},
                ) from None
            return found
        finally:
            self._submitting.active = False
        crashpoint("after_reply")
        return self._view(order)

    def cancel(self, client_order_id: str) -> BrokerOrder:
        found = self._find(client_order_id)
        if found is None:
            raise BrokerRejected(
                f"{self.exchange} has no order {client_order_id} to cancel",
                context={"client_order_id": client_order_id},
            )
        symbol, order = found
        try:
            answer = self._call(
                "cancel",
                lambda: self._ex.cancel_order(order["id"], symbol),
                writes=True,
            )
        except BrokerRejected:
            again = self._find(client_order_id)
            if again is not None:
                view = self._view(again[1])
                if view.status.is_terminal:
                    return view  # too late: it is final
            raise
        return self._view(answer if answer.get("status") else order)

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        found = self._find(client_order_id)
        return None if found is None else self._view(found[1])

    def fetch_open_orders(self) -> list[BrokerOrder]:
        views: list[BrokerOrder] = []
        for symbol in self.symbols:
            rows = self._call("fetch_open_orders", partial(self._ex.fetch_open_orders, symbol))
            views.extend(self._view(row) for row in rows)
        return views

    def fetch_positions(self) -> list[BrokerPosition]:
        self._markets()
        totals = self._balances()
        account = self.account_id
        positions: list[BrokerPosition] = []
        for symbol in self.symbols:
            base = self._ex.market(symbol)["base"]
            qty = totals.get(base, ZERO)
            if qty == 0:
                continue
            positions.append(
                BrokerPosition(
                    symbol=symbol, qty=qty, avg_price=self._cost_basis(symbol), account_id=account
                )
            )
        return positions

    def fetch_account(self) -> BrokerAccount:
        balance = self._call("fetch_account", self._ex.fetch_balance)
        info = balance.get("info") or {}
        uid = None
        for key in ("uid", "userId", "accountId", "uuid"):
            if info.get(key) not in (None, ""):
                uid = str(info[key])
                break
        if uid is None:
            raise BrokerError(
                f"{self.exchange} reports no account identity, so LIVE cannot confirm the "
                "account: refused",
                code=ErrorCode.E_CONFIG_INVALID,
            )
        self._account = uid
        total = dec((balance.get("total") or {}).get(self.cash_currency)) or ZERO
        free = dec((balance.get("free") or {}).get(self.cash_currency)) or ZERO
        return BrokerAccount(
            account_id=uid,
            cash=total,
            equity=total,
            buying_power=free,
            currency=self.cash_currency,
        )

    def fetch_quote(self, symbol: str) -> Mark | None:
        """The market-data port (``QuoteSource``): the exchange's ticker as a mark (its
        last trade, best bid and ask); None for a symbol it lists no market or price of."""
        self._markets()
        if symbol not in self._ex.markets:
            return None
        ticker = self._call("fetch_quote", lambda: self._ex.fetch_ticker(symbol))
        bid, ask = dec(ticker.get("bid")), dec(ticker.get("ask"))
        last = dec(ticker.get("last")) or (
            (bid + ask) / 2 if bid is not None and ask is not None else None
        )
        if not last:
            return None
        return Mark(
            symbol=symbol,
            last=last,
            bid=bid or None,
            ask=ask or None,
            volume=dec(ticker.get("baseVolume")),
            ts=_ts(ticker.get("timestamp")) or datetime.now(UTC),
        )

    @property
    def account_currency(self) -> str:
        """The cash currency: fees in it are booked, fees in any other are recorded."""
        return self.cash_currency

    def subscribe(self, listener: OrderListener) -> None:
        self._listeners.append(listener)
        if self._poller is None:
            for symbol in self.symbols:
                self._last_trade[symbol] = self._newest_trade_id(symbol)
            self._poller = threading.Thread(target=self._poll, name="ccxt-poll", daemon=True)
            self._poller.start()

    # ------------------------------------------------------------ instruments

    def instrument_limits(self) -> InstrumentLimits:
        """Tick, lot and minimums of the watched symbols, for the gates."""
        self._markets()
        specs: dict[str, InstrumentSpec] = {}
        for symbol in self.symbols:
            market = self._ex.market(symbol)
            limits = market.get("limits") or {}
            specs[symbol] = InstrumentSpec(
                tick_size=dec(market["precision"].get("price")),
                lot_size=dec(market["precision"].get("amount")),
                min_qty=dec((limits.get("amount") or {}).get("min")),
                max_qty=dec((limits.get("amount") or {}).get("max")),
            )
        return InstrumentLimits(tradable=frozenset(self.symbols), instruments=specs)

    @property
    def account_id(self) -> str:
        if self._account is None:
            self.fetch_account()
        assert self._account is not None
        return self._account

    def close(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(5)
        session = getattr(self._ex, "session", None)
        if session is not None:
            session.close()

    # -------------------------------------------------------------- internals

    def _call(self, operation: str, fn: Callable[[], Any], *, writes: bool = False) -> Any:
        try:
            return fn()
        except Exception as exc:
            raise translate(exc, operation=operation, writes=writes) from exc

    def _on_response(self, response: Any, *args: Any, **kwargs: Any) -> None:
        if getattr(self._submitting, "active", False):
            crashpoint("after_send")  # the exchange has answered; we have not read it

    def _markets(self) -> None:
        if not self._markets_loaded:
            self._call("load_markets", self._ex.load_markets)
            self._markets_loaded = True

    def _check_terms(self, request: OrderRequest) -> tuple[float, float | None, float | None]:
        """What ccxt would send must be what we recorded (its precision truncates)."""
        self._markets()
        symbol = request.symbol
        if symbol not in self._ex.markets:
            raise BrokerRejected(
                f"{self.exchange} lists no market {symbol}",
                code=ErrorCode.E_RISK_NOT_TRADABLE,
                context={"symbol": symbol},
            )
        market = self._ex.market(symbol)
        amount = float(request.qty)
        sent = dec(self._ex.amount_to_precision(symbol, amount))
        if sent != request.qty:
            raise BrokerRejected(
                f"quantity {fmt(request.qty)} is off {symbol}'s lot "
                f"{market['precision'].get('amount')}: ccxt would send {fmt(sent)}",
                code=ErrorCode.E_RISK_LOT_SIZE,
                context={"symbol": symbol},
            )
        minimum = dec(((market.get("limits") or {}).get("amount") or {}).get("min"))
        if minimum is not None and request.qty < minimum:
            raise BrokerRejected(
                f"quantity {fmt(request.qty)} is below {symbol}'s minimum {fmt(minimum)}",
                code=ErrorCode.E_RISK_MIN_QTY,
                context={"symbol": symbol},
            )
        stop = None if request.stop_price is None else self._on_tick(symbol, request.stop_price)
        if request.limit_price is None:
            return amount, None, stop
        price = self._on_tick(symbol, request.limit_price)
        notional = dec(((market.get("limits") or {}).get("cost") or {}).get("min"))
        if notional is not None and request.qty * request.limit_price < notional:
            raise BrokerRejected(
                f"notional {fmt(request.qty * request.limit_price)} is below {symbol}'s "
                f"minimum {fmt(notional)}",
                code=ErrorCode.E_RISK_MIN_QTY,
                context={"symbol": symbol},
            )
        return amount, price, stop

    def _on_tick(self, symbol: str, value: Decimal) -> float:
        """``value`` as the float ccxt takes, refused unless ccxt would send it as is."""
        number = float(value)
        sent = dec(self._ex.price_to_precision(symbol, number))
        if sent != value:
            tick = self._ex.market(symbol)["precision"].get("price")
            raise BrokerRejected(
                f"price {fmt(value)} is off {symbol}'s tick {tick}: ccxt would send {fmt(sent)}",
                code=ErrorCode.E_RISK_TICK_SIZE,
                context={"symbol": symbol},
            )
        return number

    def _find(self, client_order_id: str) -> tuple[str, dict[str, Any]] | None:
        """(symbol, order) by our id: in its symbol when known, else in each watched one."""
        with self._lock:
            known = self._symbol_of.get(client_order_id)
        symbols = [known] if known else list(self.symbols)
        for symbol in symbols:
            order = self._look_up(client_order_id, symbol)
            if order is not None:
                with self._lock:
                    self._symbol_of[client_order_id] = symbol
                return symbol, order
        return None

    def _look_up(self, client_order_id: str, symbol: str) -> dict[str, Any] | None:
        if self.capabilities.lookup is Lookup.BY_CLIENT_ID:
            try:
                order: dict[str, Any] = self._call(
                    "fetch_order",
                    lambda: self._ex.fetch_order(
                        None, symbol, {"origClientOrderId": client_order_id}
                    ),
                )
            except NotFound:
                return None
            return order
        for fetch in (self._ex.fetch_open_orders, self._ex.fetch_closed_orders):
            rows = self._call("fetch_order", partial(fetch, symbol))
            for row in rows:
                if row.get("clientOrderId") == client_order_id:
                    return dict(row)
        return None

    def _order_trades(self, symbol: str, order_id: str, filled: Decimal) -> list[dict[str, Any]]:
        with self._lock:
            cached = self._trades.get(order_id)
        if cached is not None and _total(cached) == filled:
            return cached
        rows = self._call(
            "fetch_fills",
            lambda: self._ex.fetch_my_trades(symbol, None, None, {"orderId": order_id}),
        )
        trades = [t for t in rows if str(t.get("order")) == order_id]
        with self._lock:
            self._trades[order_id] = trades
        return trades

    def _view(self, order: dict[str, Any]) -> BrokerOrder:
        symbol = str(order["symbol"])
        order_id = str(order["id"])
        cid = str(order.get("clientOrderId") or "")
        qty = dec(order.get("amount")) or ZERO
        filled = dec(order.get("filled")) or ZERO
        trades = self._order_trades(symbol, order_id, filled) if filled > 0 else []
        executions, fees = self._executions(symbol, trades)
        done = sum((e.last_qty for e in executions), ZERO)
        status = _STATUS.get(str(order.get("status")))
        if status is None:
            status = OrderStatus.PARTIALLY_FILLED if done > 0 else OrderStatus.ACCEPTED
        if status is OrderStatus.FILLED and done != qty:
            status = OrderStatus.PARTIALLY_FILLED  # trades lag the order: say what is known
        avg = sum((e.last_qty * e.last_px for e in executions), ZERO) / done if done else None
        native = str((order.get("info") or {}).get("type") or "").lower()
        kind = _TYPES.get(native) or _TYPES.get(str(order.get("type")))
        tif = {t.value: t for t in TimeInForce}.get(str(order.get("timeInForce")))
        view = BrokerOrder(
            client_order_id=cid,
            broker_order_id=order_id,
            status=status,
            symbol=symbol,
            side=Side.BUY if order.get("side") == "buy" else Side.SELL,
            qty=qty,
            filled_qty=done,
            avg_price=avg,
            executions=executions,
            ts=_ts(order.get("lastUpdateTimestamp") or order.get("timestamp")),
            order_type=kind,
            time_in_force=tif,
            limit_price=dec(order.get("price")) if kind and kind.needs_limit_price else None,
            stop_price=dec(order.get("triggerPrice")) if kind and kind.needs_stop_price else None,
            account_id=self._account,
            raw={"order": order.get("info") or {}, "fees": fees},
        )
        with self._lock:
            if view.status.is_open:
                self._working[cid] = (symbol, order_id)
            else:
                self._working.pop(cid, None)
        return view

    def _executions(
        self, symbol: str, trades: list[dict[str, Any]]
    ) -> tuple[tuple[Execution, ...], list[dict[str, str | None]]]:
        quote = symbol.split("/")[1]
        executions: list[Execution] = []
        fees: list[dict[str, str | None]] = []
        for trade in sorted(trades, key=lambda t: (t.get("timestamp") or 0, str(t.get("id")))):
            fee = trade.get("fee") or {}
            cost, currency = dec(fee.get("cost")) or ZERO, fee.get("currency")
            fees.append({"exec_id": str(trade["id"]), "cost": fmt(cost), "currency": currency})
            executions.append(
                Execution(
                    exec_id=str(trade["id"]),
                    last_qty=dec(trade["amount"]) or ZERO,
                    last_px=dec(trade["price"]) or ZERO,
                    ts=_ts(trade.get("timestamp")) or datetime.now(UTC),
                    commission=cost,
                    liquidity=str(trade.get("takerOrMaker") or ""),
                    # a fee that names no asset is charged in the pair's quote (ccxt's rule)
                    fee_currency=str(currency or quote),
                )
            )
        return tuple(executions), fees

    def _balances(self) -> dict[str, Decimal]:
        balance = self._call("fetch_balance", self._ex.fetch_balance)
        info = balance.get("info") or {}
        if self._account is None and info.get("uid") is not None:
            self._account = str(info["uid"])
        return {
            asset: amount
            for asset, value in (balance.get("total") or {}).items()
            if (amount := dec(value)) is not None
        }

    def _cost_basis(self, symbol: str) -> Decimal:
        """The average cost of the holding, replayed from the symbol's trades."""
        rows = self._call("fetch_fills", lambda: self._ex.fetch_my_trades(symbol, None, 1000))
        held, avg = ZERO, ZERO
        for trade in sorted(rows, key=lambda t: (t.get("timestamp") or 0, str(t.get("id")))):
            qty, px = dec(trade["amount"]) or ZERO, dec(trade["price"]) or ZERO
            if trade.get("side") == "buy":
                avg = (held * avg + qty * px) / (held + qty) if held + qty else ZERO
                held += qty
            else:
                held -= qty
                if held <= 0:
                    held, avg = ZERO, ZERO
        return avg

    def _newest_trade_id(self, symbol: str) -> int:
        rows = self._call("fetch_fills", lambda: self._ex.fetch_my_trades(symbol, None, 1000))
        return max((int(t["id"]) for t in rows), default=0)

    # -------------------------------------------------------------- polling

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            try:
                self._poll_once()
            except BrokerError as exc:
                log.warning("a poll failed; next one in a moment", error=exc.message)
            except Exception:
                log.exception("a poll failed")

    def _poll_once(self) -> None:
        touched: dict[str, str] = {}  # exchange id -> symbol
        for symbol in self.symbols:
            since = self._last_trade.get(symbol, 0)
            ask = partial(self._ex.fetch_my_trades, symbol, None, 1000, {"fromId": since + 1})
            rows = self._call("fetch_fills", ask)
            for trade in rows:
                touched[str(trade["order"])] = symbol
                self._last_trade[symbol] = max(self._last_trade.get(symbol, 0), int(trade["id"]))
        with self._lock:
            for symbol, order_id in self._working.values():
                touched[order_id] = symbol
        for order_id, symbol in touched.items():
            order = self._call("fetch_order", partial(self._ex.fetch_order, order_id, symbol))
            view = self._view(order)
            seen = (view.status, view.filled_qty)
            if self._pushed.get(order_id) == seen:
                continue
            self._pushed[order_id] = seen
            for listener in list(self._listeners):
                try:
                    listener(view)
                except Exception:
                    log.exception("a listener failed", client_order_id=view.client_order_id)


def _total(trades: list[dict[str, Any]]) -> Decimal:
    return sum((dec(t["amount"]) or ZERO for t in trades), ZERO)


def _ts(value: Any) -> datetime | None:
    number = dec(value)
    return None if number is None else datetime.fromtimestamp(float(number) / 1000, UTC)


__all__ = ["BINANCE_CAPABILITIES", "CcxtBroker", "capabilities_for"]
