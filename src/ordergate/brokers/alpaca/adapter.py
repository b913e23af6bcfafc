"""``AlpacaBroker``: the broker port over alpaca-py.

What the SDK does by itself, and what the adapter does about it (BROKERS.md B1):

- it retries 429 and 504 three times, 3 s apart, POST included, and a 504 after Alpaca
  took the order then comes back as "client_order_id must be unique": the retries are
  switched off (``retry_attempts=0`` cannot do it: falsy values fall back to the
  defaults, so the client's ``_retry`` is set after construction), and a POST that timed
  out or answered 5xx is *unknown* — the engine looks the order up;
- it sets no request timeout: every request gets ours (a session that adds it);
- "must be unique" means the order exists: it is adopted by look-up, never a rejection;
- the stream replays nothing: after each (re)connect, the adapter fetches every order
  it knows to be working and the FILL activities since the last fill it saw, and pushes
  what changed (``stream.py``);
- every REST call — orders, look-ups, polls, catch-up, quotes — waits in one queue for
  Alpaca's 200 requests a minute (:class:`~ordergate.resilience.ratelimit.WindowThrottle`).

Credentials live in the SDK's clients only; the account number never leaves this
module (``account_id`` is the account's UUID, which LIVE checks).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests
import structlog
from alpaca.common.rest import RESTClient
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockLatestQuoteRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, QueryOrderStatus
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
)
from alpaca.trading.requests import (
    OrderRequest as AlpacaOrderRequest,
)

from ordergate.brokers.alpaca.errors import DuplicateClientId, NotFound, translate
from ordergate.brokers.alpaca.stream import TradeUpdates
from ordergate.brokers.alpaca.translate import (
    ALPACA_TIF,
    as_float,
    dec,
    execution,
    executions_up_to,
    parse_ts,
    to_broker_order,
)
from ordergate.brokers.base import OrderListener
from ordergate.domain.capabilities import (
    BrokerCapabilities,
    ClientIdDedupe,
    Lookup,
    Modify,
    request_problems,
)
from ordergate.domain.enums import OrderStatus, OrderType, Side
from ordergate.domain.errors import BrokerError, BrokerRejected, BrokerTimeout, ErrorCode
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.domain.wire import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    Execution,
    OrderRequest,
)
from ordergate.resilience.crashpoint import crashpoint
from ordergate.resilience.ratelimit import WindowThrottle

log = structlog.get_logger("ordergate.brokers.alpaca")

#: what Alpaca is, declared for the engine (and checked by the contract suite)
ALPACA_CAPABILITIES = BrokerCapabilities(
    dedupe=ClientIdDedupe.ALWAYS,  # "must be unique", even once the first is final
    lookup=Lookup.BY_CLIENT_ID,  # GET /v2/orders:by_client_order_id
    lookup_miss_conclusive=False,  # a look-up may lag a submit
    client_id_max_length=128,
    client_id_alphabet=r"[\x21-\x7e]+",
    order_types=frozenset(OrderType),
    time_in_force=frozenset(ALPACA_TIF),
    modify=Modify.CANCEL_REPLACE,  # PATCH makes a new order, the old one ``replaced``
    # a working sell holds the shares ("insufficient qty available"): the engine keeps
    # one bracket leg working and the other armed
    reserves_quantity=True,
    stream_replays=False,
    market_data=True,
)
_ORDER_PAGE = 500
_FILL_PAGE = 100
#: how far before an order's submission its FILL activities are looked for
_FILL_SLACK = timedelta(seconds=2)


class _TimeoutSession(requests.Session):
    """A session that puts our timeout on every request (alpaca-py passes none), each
    request first waiting its turn in the rate-limit queue, its slot counted from its
    answer (:meth:`~ordergate.resilience.ratelimit.WindowThrottle.answered`)."""

    def __init__(self, timeout: float, limiter: WindowThrottle) -> None:
        super().__init__()
        self._timeout = timeout
        self._limiter = limiter

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        self._limiter.acquire()
        try:
            return super().request(method, url, *args, **kwargs)
        finally:
            self._limiter.answered()


def _tame(
    client: RESTClient,
    timeout: float,
    limiter: WindowThrottle,
    hook: Callable[..., Any] | None = None,
) -> None:
    """No SDK retries, our timeout and queue (see the module docstring)."""
    client._retry = 0
    client._retry_codes = []
    session = _TimeoutSession(timeout, limiter)
    if hook is not None:
        session.hooks["response"].append(hook)
    client._session = session


class AlpacaBroker:
    """The broker port over Alpaca's trading API, stream and market data."""

    adapter_id = "alpaca"
    capabilities = ALPACA_CAPABILITIES
    #: the currency fees are booked in (Alpaca's accounts are in dollars)
    account_currency = "USD"

    def __init__(
        self,
        *,
        api_key: str,
        secret_key: str,
        paper: bool = True,
        base_url: str | None = None,
        stream_url: str | None = None,
        data_url: str | None = None,
        timeout: float = 2.0,
        rate_limit: int = 200,
        rate_window_s: float = 60.0,
        reconnect_min_s: float = 1.0,
        stream: bool = True,
    ) -> None:
        # a margin over the window: a grant's request may reach Alpaca a little late
        self.limiter = WindowThrottle(
            rate_limit, rate_window_s * 1.02 + 0.05, name="Alpaca rate limit"
        )
        self._trading = TradingClient(
            api_key, secret_key, paper=paper, raw_data=True, url_override=base_url
        )
        _tame(self._trading, timeout, self.limiter, hook=self._on_response)
        self._data = StockHistoricalDataClient(
            api_key, secret_key, raw_data=True, url_override=data_url
        )
        _tame(self._data, timeout, self.limiter)
        self._lock = threading.Lock()
        self._fills: dict[str, dict[Decimal, Execution]] = {}
        self._working: dict[str, str] = {}  # client id -> Alpaca id, for the catch-up
        self._last_fill_at = datetime.now(UTC) - timedelta(minutes=1)
        self._account: str | None = None
        self._listeners: list[OrderListener] = []
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._submitting = threading.local()
        self._stream: TradeUpdates | None = None
        self._stream_up = False
        self._up_once = threading.Event()
        self._first_connect_s = max(5.0, timeout * 5)
        if stream:
            self._stream = TradeUpdates(
                api_key,
                secret_key,
                paper=paper,
                url=stream_url,
                on_message=self._inbox.put,
                on_up=self._on_up,
                on_down=self._on_down,
                reconnect_min_s=reconnect_min_s,
            )
        self._dispatcher: threading.Thread | None = None

    @property
    def dedupes_client_order_id(self) -> bool:
        return self.capabilities.dedupes_client_order_id

    @property
    def stream_up(self) -> bool:
        """The stream is connected (order tracking polls while it is not)."""
        return self._stream_up

    # ---------------------------------------------------------------- the port

    def submit(self, request: OrderRequest) -> BrokerOrder:
        # a bracket leg's OCO group is the engine's to hold (it cancels the sibling): it
        # is not sent, so it is not a reason to refuse the leg
        problems = request_problems(self.capabilities, replace(request, oco_group=None))
        if problems:
            raise BrokerRejected(
                "Alpaca cannot take this order: " + "; ".join(problems),
                code=ErrorCode.E_INTENT_INVALID,
                context={"client_order_id": request.client_order_id},
            )
        model = _order_model(request)
        self._submitting.active = True
        try:
            raw = self._call("submit", lambda: self._trading.submit_order(model), writes=True)
        except DuplicateClientId:
            # the order exists (a resend, or our own lost reply): adopt it
            found = self.fetch_order(request.client_order_id)
            if found is None:
                raise BrokerTimeout(
                    f"Alpaca says client_order_id {request.client_order_id} is taken but "
                    "does not show the order yet; the outcome is unknown",
                    context={"client_order_id": request.client_order_id},
                ) from None
            return found
        finally:
            self._submitting.active = False
        crashpoint("after_reply")
        return self._view(raw)

    def cancel(self, client_order_id: str) -> BrokerOrder:
        raw = self._by_client_id(client_order_id)
        if raw is None:
            raise BrokerRejected(
                f"Alpaca has no order {client_order_id} to cancel",
                context={"client_order_id": client_order_id},
            )
        order_id = str(raw["id"])
        try:
            self._call("cancel", lambda: self._trading.cancel_order_by_id(order_id), writes=True)
        except BrokerRejected as exc:
            now = self._by_client_id(client_order_id)
            if now is not None and not isinstance(exc, NotFound):
                view = self._view(now)
                if view.status.is_terminal:
                    return view  # too late: it is final (filled, most likely)
            raise
        return self._view(self._by_id(order_id))

    def modify(
        self,
        client_order_id: str,
        *,
        new_client_order_id: str,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder:
        """Alpaca's replace (``PATCH``): a new order under ``new_client_order_id``."""
        raw = self._by_client_id(client_order_id)
        if raw is None:
            raise BrokerRejected(
                f"Alpaca has no order {client_order_id} to replace",
                context={"client_order_id": client_order_id},
            )
        if qty is not None and qty != qty.to_integral_value():
            raise BrokerRejected(
                f"Alpaca replaces whole quantities only (alpaca-py's qty is an int), not {qty}",
                code=ErrorCode.E_INTENT_INVALID,
            )
        change = ReplaceOrderRequest(
            qty=None if qty is None else int(qty),
            limit_price=None if limit_price is None else as_float(limit_price, "limit_price"),
            stop_price=None if stop_price is None else as_float(stop_price, "stop_price"),
            client_order_id=new_client_order_id,
        )
        order_id = str(raw["id"])
        try:
            new = self._call(
                "modify", lambda: self._trading.replace_order_by_id(order_id, change), writes=True
            )
        except DuplicateClientId:
            found = self.fetch_order(new_client_order_id)
            if found is None:
                raise BrokerTimeout(
                    f"replacement {new_client_order_id} taken but not visible; unknown"
                ) from None
            return found
        with self._lock:
            self._working.pop(client_order_id, None)
        return self._view(new)

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        raw = self._by_client_id(client_order_id)
        return None if raw is None else self._view(raw)

    def fetch_open_orders(self) -> list[BrokerOrder]:
        ask = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=_ORDER_PAGE, nested=False)
        rows = self._call("fetch_open_orders", lambda: self._trading.get_orders(ask))
        return [self._view(row) for row in rows]

    def fetch_positions(self) -> list[BrokerPosition]:
        rows = self._call("fetch_positions", self._trading.get_all_positions)
        account = self.account_id
        return [
            BrokerPosition(
                symbol=str(row["symbol"]),
                qty=_signed(row),
                avg_price=dec(row.get("avg_entry_price")) or ZERO,
                account_id=account,
            )
            for row in rows
        ]

    def fetch_account(self) -> BrokerAccount:
        raw = self._call("fetch_account", self._trading.get_account)
        self._account = str(raw["id"])
        return BrokerAccount(
            account_id=self._account,
            cash=dec(raw.get("cash")) or ZERO,
            equity=dec(raw.get("equity")) or ZERO,
            buying_power=dec(raw.get("buying_power")) or ZERO,
            currency=str(raw.get("currency") or "USD"),
        )

    def subscribe(self, listener: OrderListener) -> None:
        self._listeners.append(listener)
        if self._dispatcher is None:
            self._dispatcher = threading.Thread(
                target=self._dispatch, name="alpaca-dispatch", daemon=True
            )
            self._dispatcher.start()
            if self._stream is not None:
                self._stream.start()
                # "every later change": wait (bounded) for the first connection
                if not self._up_once.wait(self._first_connect_s):
                    log.warning("Alpaca trade_updates stream not up yet; tracking polls")

    # ------------------------------------------------------------ market data

    def fetch_quote(self, symbol: str) -> Mark | None:
        """The market-data port (``QuoteSource``): Alpaca's latest quote as a mark, its
        ``last`` the mid (the quote is what we have); None when Alpaca has no two-sided
        quote of ``symbol``. Waits in the one rate-limit queue like every call."""
        ask = StockLatestQuoteRequest(symbol_or_symbols=symbol)
        answer = self._call("fetch_quote", lambda: self._data.get_stock_latest_quote(ask))
        row = answer.get(symbol) if isinstance(answer, dict) else None
        if not isinstance(row, dict):
            return None
        bid, ask_px = dec(row.get("bp")), dec(row.get("ap"))
        if not bid or not ask_px:
            return None
        return Mark(
            symbol=symbol.upper(),
            last=(bid + ask_px) / 2,
            bid=bid,
            ask=ask_px,
            ts=parse_ts(row.get("t")) or datetime.now(UTC),
        )

    @property
    def account_id(self) -> str:
        if self._account is None:
            self.fetch_account()
        assert self._account is not None
        return self._account

    def close(self) -> None:
        if self._stream is not None:
            self._stream.shutdown()
        self._inbox.put(None)
        if self._dispatcher is not None:
            self._dispatcher.join(5)
        self._trading._session.close()
        self._data._session.close()

    # -------------------------------------------------------------- internals

    def _call(self, operation: str, fn: Callable[[], object], *, writes: bool = False) -> Any:
        """One SDK call in the rate-limit queue, its errors translated; with
        ``raw_data=True`` the SDK answers Alpaca's JSON, which is what this returns.
        (Each HTTP request waits in the rate-limit queue: see ``_TimeoutSession``.)"""
        try:
            return fn()
        except Exception as exc:
            raise translate(exc, operation=operation, writes=writes) from exc

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if getattr(self._submitting, "active", False):
            crashpoint("after_send")  # Alpaca has answered; we have not read it

    def _by_client_id(self, client_order_id: str) -> dict[str, Any] | None:
        try:
            raw: dict[str, Any] = self._call(
                "fetch_order", lambda: self._trading.get_order_by_client_id(client_order_id)
            )
        except NotFound:
            return None
        return raw

    def _by_id(self, order_id: str) -> dict[str, Any]:
        raw: dict[str, Any] = self._call(
            "fetch_order", lambda: self._trading.get_order_by_id(order_id)
        )
        return raw

    def _view(self, raw: dict[str, Any]) -> BrokerOrder:
        """The order, whole: its executions are loaded until they make its filled_qty."""
        order_id = str(raw["id"])
        filled = dec(raw.get("filled_qty")) or ZERO
        fills = self._known(order_id, filled)
        if sum((e.last_qty for e in fills), ZERO) != filled:
            submitted = parse_ts(raw.get("submitted_at") or raw.get("created_at"))
            self._load_fills(None if submitted is None else submitted - _FILL_SLACK)
            fills = self._known(order_id, filled)
        view = to_broker_order(raw, fills, account_id=self._account)
        if view.status is OrderStatus.FILLED and view.filled_qty != view.qty:
            # Alpaca's fill activities lag its order: say what is known; a later look-up
            # completes it
            view = _replace_status(view, OrderStatus.PARTIALLY_FILLED)
        with self._lock:
            if view.status.is_open:
                self._working[view.client_order_id] = order_id
            else:
                self._working.pop(view.client_order_id, None)
        return view

    def _known(self, order_id: str, filled: Decimal) -> tuple[Execution, ...]:
        with self._lock:
            return executions_up_to(self._fills.get(order_id, {}), filled)

    def _remember(self, order_id: str, cum: Decimal, fill: Execution) -> None:
        with self._lock:
            # first report wins: an execution, once told, never changes (the stream's
            # timestamp and the activity's may differ by a tick)
            self._fills.setdefault(order_id, {}).setdefault(cum, fill)
            self._last_fill_at = max(self._last_fill_at, fill.ts)

    def _load_fills(self, after: datetime | None) -> set[str]:
        """FILL activities after ``after`` (every page) into the cache; their order ids."""
        orders: set[str] = set()
        params: dict[str, Any] = {"direction": "asc", "page_size": _FILL_PAGE}
        if after is not None:
            params["after"] = after.astimezone(UTC).isoformat().replace("+00:00", "Z")
        while True:
            page = self._call(
                "fetch_fills",
                lambda: self._trading.get("/account/activities/FILL", dict(params)),
            )
            for row in page or []:
                cum, qty, px = dec(row.get("cum_qty")), dec(row.get("qty")), dec(row.get("price"))
                ts = parse_ts(row.get("transaction_time"))
                if cum is None or qty is None or px is None or ts is None:
                    log.warning("a FILL activity without its numbers, skipped")
                    continue
                order_id = str(row["order_id"])
                self._remember(order_id, cum, execution(order_id, cum=cum, qty=qty, px=px, ts=ts))
                orders.add(order_id)
            if not page or len(page) < _FILL_PAGE:
                return orders
            params["page_token"] = page[-1]["id"]

    # ---------------------------------------------------------------- stream

    def _on_up(self) -> None:
        self._stream_up = True
        self._inbox.put({"catch_up": True})
        self._up_once.set()

    def _on_down(self) -> None:
        if self._stream_up:
            log.warning("Alpaca trade_updates stream down; it reconnects by itself")
        self._stream_up = False

    def _dispatch(self) -> None:
        """One thread turns stream messages (and catch-ups) into pushed views."""
        while True:
            message = self._inbox.get()
            if message is None:
                return
            try:
                if message.get("catch_up"):
                    self._catch_up()
                else:
                    self._on_trade_update(message)
            except BrokerError as exc:
                log.warning("a stream update could not be completed", error=str(exc))
            except Exception:
                log.exception("a stream update failed")

    def _on_trade_update(self, message: dict[str, Any]) -> None:
        data = message.get("data") if "data" in message else message
        if not isinstance(data, dict) or not isinstance(data.get("order"), dict):
            return
        order = data["order"]
        if data.get("event") in ("fill", "partial_fill"):
            cum, qty, px = (
                dec(order.get("filled_qty")),
                dec(data.get("qty")),
                dec(data.get("price")),
            )
            ts = parse_ts(data.get("timestamp")) or datetime.now(UTC)
            if cum is not None and qty is not None and px is not None:
                order_id = str(order["id"])
                self._remember(order_id, cum, execution(order_id, cum=cum, qty=qty, px=px, ts=ts))
        self._push(self._view(order))

    def _catch_up(self) -> None:
        """After a (re)connect: what changed while the stream was down, pushed."""
        with self._lock:
            since = self._last_fill_at - _FILL_SLACK
            ids = set(self._working.values())
        ids |= self._load_fills(since)
        for order_id in sorted(ids):
            self._push(self._view(self._by_id(order_id)))

    def _push(self, view: BrokerOrder) -> None:
        for listener in list(self._listeners):
            try:
                listener(view)
            except Exception:  # one bad listener must not stop the stream
                log.exception("a stream listener failed", client_order_id=view.client_order_id)


def _signed(row: dict[str, Any]) -> Decimal:
    qty = dec(row.get("qty")) or ZERO
    return -abs(qty) if row.get("side") == "short" else qty


def _replace_status(view: BrokerOrder, status: OrderStatus) -> BrokerOrder:
    return replace(view, status=status)


_SIDE = {Side.BUY: OrderSide.BUY, Side.SELL: OrderSide.SELL}


def _order_model(request: OrderRequest) -> AlpacaOrderRequest:
    """alpaca-py's request, every number checked through its float."""
    common: dict[str, Any] = {
        "symbol": request.symbol,
        "qty": as_float(request.qty, "qty"),
        "side": _SIDE[request.side],
        "time_in_force": AlpacaTif(ALPACA_TIF[request.time_in_force]),
        "client_order_id": request.client_order_id,
    }
    limit = None if request.limit_price is None else as_float(request.limit_price, "limit_price")
    stop = None if request.stop_price is None else as_float(request.stop_price, "stop_price")
    kind = request.order_type
    if kind is OrderType.MARKET:
        return MarketOrderRequest(**common)
    if kind is OrderType.LIMIT:
        return LimitOrderRequest(**common, limit_price=limit)
    if kind is OrderType.STOP:
        return StopOrderRequest(**common, stop_price=stop)
    return StopLimitOrderRequest(**common, limit_price=limit, stop_price=stop)
