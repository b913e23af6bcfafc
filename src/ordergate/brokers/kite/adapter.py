"""``KiteBroker``: the broker port over ``kiteconnect`` (Kite Connect v3 REST).

It translates, it decides nothing (docs/adapters.md). What Kite is, declared honestly:

- **no client order id, no dedupe**: our id travels as the order's ``tag``
  (:mod:`~ordergate.brokers.kite.tags`, a bijection), and a look-up scans today's order
  book for it (``Lookup.BY_TAG``). The book may lag a placement, so a miss proves
  nothing (``lookup_miss_conclusive=False``): the engine never re-places an order whose
  outcome is unknown; it stays unknown, is looked up again, and goes to a person.
- **updates by polling** the order and trade books, and with ``websocket`` on by
  KiteTicker's order updates (:mod:`~ordergate.brokers.kite.stream`); a poll compares
  with the last one, so what changed while a poll failed comes with the next
  (``stream_replays``). Postbacks, where enabled, push that one order at once.
- **every call queues** for its slot under Kite's published rate limits
  (:mod:`~ordergate.brokers.kite.limits`).
- **the daily token**: see :mod:`~ordergate.brokers.kite.session`.

This module is the port's calls (orders, books, account, quotes, tokens); the wire
formats are :mod:`~ordergate.brokers.kite.translate` and
:mod:`~ordergate.brokers.kite.varieties`.

Blocking: the SDK is ``requests``; the engine calls adapters from worker threads, never
from the event loop (the service runs the engine off the loop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import requests
import structlog
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from ordergate.brokers.base import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    OrderListener,
    OrderRequest,
)
from ordergate.domain.capabilities import BrokerCapabilities, ClientIdDedupe, Lookup, Modify
from ordergate.domain.enums import OrderStatus, OrderType, TimeInForce
from ordergate.domain.errors import BrokerError, BrokerRejected, BrokerUnavailable, ErrorCode
from ordergate.domain.market import Mark
from ordergate.resilience.crashpoint import crashpoint
from ordergate.resilience.timing import Timer
from ordergate.risk.killswitch import KillSwitchBoard
from ordergate.risk.limits import InstrumentSpec

from .errors import SessionExpired, map_kite_error
from .limits import ORDER_OPS, KiteLimits
from .redact import Redactor
from .session import KiteSession
from .settings import KiteSettings
from .stream import OrderStream
from .tags import CLIENT_ID_ALPHABET, foreign_order_id, tag_for
from .translate import (
    account_of,
    book_views,
    order_params,
    order_view,
    positions_of,
    quote_of,
    specs_of,
    split_symbol,
)
from .varieties import placement

log = structlog.get_logger("ordergate.brokers.kite")
T = TypeVar("T")

KITE_CAPABILITIES = BrokerCapabilities(
    dedupe=ClientIdDedupe.NEVER,
    lookup=Lookup.BY_TAG,
    lookup_miss_conclusive=False,
    client_id_max_length=26,
    client_id_alphabet=CLIENT_ID_ALPHABET,
    order_types=frozenset(OrderType),
    time_in_force=frozenset({TimeInForce.DAY, TimeInForce.IOC, TimeInForce.GTD}),
    modify=Modify.REPLACE,
    native_oco=False,
    native_bracket=False,
    reserves_quantity=True,
    stream_replays=True,
    market_data=True,
    simulated=False,
)


class KiteBroker:
    """``BrokerAdapter`` over the Kite Connect v3 REST API."""

    adapter_id = "kite"
    capabilities = KITE_CAPABILITIES
    #: the currency fees are booked in (Kite's accounts are in rupees)
    account_currency = "INR"

    def __init__(
        self,
        settings: KiteSettings,
        *,
        timeout: float = 7.0,
        board: KillSwitchBoard | None = None,
        timer: Timer | None = None,
        token_file: Path | None = None,
    ) -> None:
        self.settings = settings
        api_key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._api_secret = settings.api_secret.get_secret_value() if settings.api_secret else ""
        self.redactor = Redactor()
        self.redactor.add(api_key, self._api_secret)
        for name in ("kiteconnect.connect", "kiteconnect.ticker"):
            self.redactor.guard(logging.getLogger(name))
        self._kite = KiteConnect(
            api_key, root=settings.root, timeout=timeout, debug=settings.sdk_debug
        )
        self._kite.reqsession.hooks["response"].append(self._after_send)
        self.stream = OrderStream(
            settings,
            api_key,
            read_book=self._book,
            order_trades=lambda order_id: list(
                self._call("fetch_order", lambda: self._kite.order_trades(order_id))
            ),
        )
        initial = settings.access_token.get_secret_value() if settings.access_token else None
        self.session = KiteSession(
            initial,
            apply=self._set_token,
            token_file=token_file or settings.token_file,
            board=board,
        )
        self._limits = KiteLimits(settings, timer)
        self._user_id: str | None = None

    @property
    def dedupes_client_order_id(self) -> bool:
        return self.capabilities.dedupes_client_order_id

    def attach_kill_switches(self, board: KillSwitchBoard) -> None:
        """The risk desk's board, for the expired-token switch (the composition root)."""
        self.session.board = board

    # ------------------------------------------------------------- the port

    def submit(self, request: OrderRequest) -> BrokerOrder:
        exchange, _ = split_symbol(request.symbol, self.settings.exchange)
        product, variety, extra = placement(
            request,
            exchange=exchange,
            default_product=self._leg_product(request) or self._product(request.symbol),
            default_variety=self.settings.variety,
            iceberg_legs=self.settings.iceberg_legs,
        )
        params = order_params(
            request,
            exchange=exchange,
            product=product,
            variety=variety,
            market_protection=self.settings.market_protection,
        )
        params.update(extra)
        try:
            order_id = str(self._call("submit", lambda: self._kite.place_order(**params)))
        except SessionExpired as exc:
            raise BrokerRejected(
                f"{exc.message}; the order was not placed",
                code=ErrorCode.E_RISK_KILL_SWITCH,
                context={"client_order_id": request.client_order_id},
            ) from exc
        crashpoint("after_reply")
        try:
            view = self._view_by_order_id(order_id)
        except BrokerError as exc:
            log.info("receipt read failed; tracking reads it", order_id=order_id, error=exc.message)
            view = None
        if view is not None:
            return view
        return BrokerOrder(  # placed, not yet in the book we can read: a bare receipt
            client_order_id=request.client_order_id,
            broker_order_id=order_id,
            status=OrderStatus.SUBMITTED,
            symbol=request.symbol,
            side=request.side,
            qty=request.qty,
            order_type=request.order_type,
            time_in_force=request.time_in_force,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            raw={"order_id": order_id, "tag": params["tag"]},
        )

    def cancel(self, client_order_id: str) -> BrokerOrder:
        view, variety = self._find(client_order_id)
        if view is None:
            raise BrokerRejected(
                f"Kite has no order {client_order_id} in today's order book",
                context={"client_order_id": client_order_id},
            )
        if view.status.is_terminal:
            if view.status is OrderStatus.FILLED:
                return view
            raise BrokerRejected(
                f"order {client_order_id} is already {view.status} at Kite",
                context={"client_order_id": client_order_id},
            )
        oid = view.broker_order_id
        self._call("cancel", lambda: self._kite.cancel_order(variety=variety, order_id=oid))
        after = self._view_by_order_id(oid)
        if after is None or after.status.is_open:
            base = after or view
            return BrokerOrder(**{**_fields(base), "status": OrderStatus.PENDING_CANCEL})
        return after

    def modify(
        self,
        client_order_id: str,
        *,
        new_client_order_id: str,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder:
        """Kite modifies in place (same order id, same tag): ``new_client_order_id`` is
        not used."""
        view, variety = self._find(client_order_id)
        if view is None or not view.status.is_open:
            raise BrokerRejected(
                f"order {client_order_id} is not working at Kite",
                context={"client_order_id": client_order_id},
            )
        probe = OrderRequest(
            client_order_id=client_order_id,
            account_id="",
            symbol=view.symbol,
            side=view.side,
            qty=qty if qty is not None else view.qty,
            order_type=view.order_type or OrderType.LIMIT,
            time_in_force=TimeInForce.DAY,
            limit_price=limit_price,
            stop_price=stop_price,
        )
        params = order_params(
            probe, exchange="", product="", variety=variety, market_protection=None
        )
        changes: dict[str, Any] = {k: params[k] for k in ("price", "trigger_price") if k in params}
        if qty is not None:
            changes["quantity"] = params["quantity"]
        oid = view.broker_order_id
        self._call(
            "modify",
            lambda: self._kite.modify_order(variety=variety, order_id=oid, **changes),
        )
        return self._view_by_order_id(oid) or view

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        return self._find(client_order_id)[0]

    def fetch_open_orders(self) -> list[BrokerOrder]:
        return [v for v in self._book() if v.status.is_open]

    def fetch_all_orders(self) -> list[BrokerOrder]:
        """Every order in today's book, duplicates of a tag included (crash tests)."""
        return self._book()

    def fetch_positions(self) -> list[BrokerPosition]:
        data = self._call("fetch_positions", self._kite.positions)
        return positions_of(data, self.settings.exchange, self._account())

    def fetch_account(self) -> BrokerAccount:
        margins = self._call("fetch_account", self._kite.margins)
        return account_of(self._account(), margins)

    def fetch_quote(self, symbol: str) -> Mark | None:
        """Kite's ``quote``: last price, best bid and ask (the market-data port)."""
        key = ":".join(split_symbol(symbol, self.settings.exchange))
        data = self._call("fetch_quote", lambda: self._kite.quote([key]))
        return quote_of(symbol, data.get(key) if isinstance(data, Mapping) else None)

    def instrument_specs(self, exchange: str | None = None) -> dict[str, InstrumentSpec]:
        """Tick and lot sizes from Kite's instrument list, as the gates' specs (F&O lots)."""
        chosen = exchange or self.settings.exchange
        rows = self._call("instruments", lambda: self._kite.instruments(chosen))
        return specs_of(rows, self.settings.exchange)

    def subscribe(self, listener: OrderListener) -> None:
        """Push every later change of any order, ours or not. The first book is read
        here, before the poller starts, so a change right after this call is seen."""
        self.stream.subscribe(listener, None if self.session.expired else self.session.token)

    @property
    def stream_up(self) -> bool:
        """Updates are flowing: the last poll answered, or the websocket is up."""
        return self.stream.stream_up

    @property
    def socket_up(self) -> bool:
        """KiteTicker's websocket is connected (``websocket`` on)."""
        return self.stream.socket_up

    def poll_now(self) -> None:
        """Wake the poller (a postback, a test)."""
        self.stream.poll_now()

    def close(self) -> None:
        self.stream.close()

    # ------------------------------------------------------ tokens, postbacks

    def install_token(self, token: str) -> str:
        """Use a new access token once Kite accepts it; clear the kill switch. Returns
        the Kite user id it belongs to. ``BrokerError`` when Kite refuses it (the old
        state is kept)."""
        probe = KiteConnect(self._kite.api_key, access_token=token.strip(), root=self.settings.root)
        probe.timeout = self._kite.timeout
        self.redactor.add(token.strip())
        try:
            profile = probe.profile()
        except Exception as exc:
            raise map_kite_error(
                exc, op="install_token", writes=False, scrub=self.redactor
            ) from None
        user_id = str(profile.get("user_id") or "")
        if self._user_id is not None and user_id != self._user_id:
            raise BrokerRejected(
                f"the new token belongs to Kite user {user_id!r}, not {self._user_id!r}",
                code=ErrorCode.E_CONFIG_INVALID,
            )
        self.session.install(token)
        self._user_id = user_id
        return user_id

    def on_postback(self, payload: Mapping[str, Any]) -> BrokerOrder | None:
        """A verified postback: read that order (with its trades) and push it now."""
        order_id = str(payload.get("order_id") or "")
        if not order_id:
            return None
        view = self._view_by_order_id(order_id)
        if view is not None:
            self.stream.push([view], only_changes=False)
        return view

    @property
    def api_secret(self) -> str:
        return self._api_secret

    # ------------------------------------------------------------- internals

    def _set_token(self, token: str) -> None:
        self._kite.set_access_token(token or None)
        self.redactor.add(token)
        self.stream.token_changed(token)

    def _product(self, symbol: str) -> str:
        exchange, tradingsymbol = split_symbol(symbol, self.settings.exchange)
        products = self.settings.products
        return (
            products.get(symbol)
            or products.get(f"{exchange}:{tradingsymbol}")
            or self.settings.product
        )

    def _leg_product(self, request: OrderRequest) -> str | None:
        """A bracket leg closes its entry's position: it takes the entry's product as
        Kite holds it (an NRML entry's stop must be NRML, or it would open an MIS one)."""
        parent = request.parent_client_order_id
        if request.product is not None or parent is None:
            return None
        try:
            view, _ = self._find(parent)
        except BrokerError as exc:  # nothing placed yet: say so (never a leg of a guess)
            raise BrokerUnavailable(
                f"the entry's product could not be read ({exc.message}); the leg was not placed",
                context={"client_order_id": request.client_order_id},
            ) from exc
        product = None if view is None else view.raw.get("product")
        return str(product) if product else None

    def _after_send(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """requests' response hook: the request reached Kite and an answer is in hand,
        not yet read by the SDK (the crash sweep's ``after_send``)."""
        if response.request.method == "POST" and "/orders/" in (response.request.url or ""):
            crashpoint("after_send")

    def _account(self) -> str:
        if self._user_id is None:
            profile = self._call("fetch_account", self._kite.profile)
            self._user_id = str(profile.get("user_id") or "")
        return self._user_id

    def _call(self, op: str, fn: Callable[[], T]) -> T:
        """One SDK call: queued under the rate limits, refused while the session is
        expired, its errors translated."""
        self.session.check()
        if self.session.pending_verify:
            self.session.pending_verify = False
            self.install_token(self.session.token)
        self._limits.acquire(op)
        try:
            return fn()
        except Exception as exc:
            error = map_kite_error(exc, op=op, writes=op in ORDER_OPS, scrub=self.redactor)
            if isinstance(error, SessionExpired):
                self.session.trip(error.message)
                self.stream.close_socket()  # it would retry with the dead token
            raise error from None
        finally:
            self._limits.answered(op)

    def _book(self) -> list[BrokerOrder]:
        orders = self._call("fetch_order", self._kite.orders)
        trades = self._call("fetch_order", self._kite.trades)
        return book_views(orders, trades, self.settings.exchange)

    def _find(self, client_order_id: str) -> tuple[BrokerOrder | None, str]:
        """The order with our id's tag (or the broker's id), and its variety."""
        wanted_oid = foreign_order_id(client_order_id)
        wanted_tag = None if wanted_oid is not None else _tag_or_none(client_order_id)
        if wanted_oid is None and wanted_tag is None:
            return None, self.settings.variety
        orders = self._call("fetch_order", self._kite.orders)
        hits = [
            o
            for o in orders
            if (wanted_oid is not None and str(o.get("order_id")) == wanted_oid)
            or (wanted_tag is not None and _carries(o, wanted_tag))
        ]
        if not hits:
            return None, self.settings.variety
        if len(hits) > 1:
            log.error(
                "two Kite orders carry one client order id",
                client_order_id=client_order_id,
                order_ids=[str(o.get("order_id")) for o in hits],
            )
        order = hits[0]
        oid = str(order["order_id"])
        trades = self._call("fetch_order", lambda: self._kite.order_trades(oid))
        view = order_view(order, trades, self.settings.exchange)
        return view, str(order.get("variety") or self.settings.variety)

    def _view_by_order_id(self, order_id: str) -> BrokerOrder | None:
        def history_or_none() -> list[dict[str, Any]]:
            try:
                return list(self._kite.order_history(order_id))
            except kex.InputException:  # "no such order": Kite answers 400
                return []

        history = self._call("fetch_order", history_or_none)
        if not history:
            return None
        trades = self._call("fetch_order", lambda: self._kite.order_trades(order_id))
        return order_view(history[-1], trades, self.settings.exchange)


def _tag_or_none(client_order_id: str) -> str | None:
    try:
        return tag_for(client_order_id)
    except ValueError:
        return None


def _carries(order: Mapping[str, Any], tag: str) -> bool:
    tags = [order.get("tag"), *(order.get("tags") or [])]
    return any(isinstance(t, str) and t.lower() == tag for t in tags)


def _fields(view: BrokerOrder) -> dict[str, Any]:
    return {name: getattr(view, name) for name in BrokerOrder.__dataclass_fields__}
