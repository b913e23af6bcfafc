"""Kite's order updates, pushed to the adapter's listeners as they change.

Two sources feed one push (:meth:`OrderStream.push`, which sends a view only when it
changed): the **poller**, a daemon thread reading the order and trade books every
``poll_interval_s`` (a poll compares with the last one, so what changed while a poll
failed comes with the next), and, with ``websocket`` on, **KiteTicker's** order updates
(:mod:`~ordergate.brokers.kite.ticker`), each made whole with the order's trades on a
dispatcher thread of its own. While the socket is up the books are polled only every
``ws_poll_interval_s`` (the socket skips intermediate states); while it is down every
``poll_interval_s``, and after every (re)connect at once. A socket message may arrive
after a poll saw more: it is dropped when it is behind what was pushed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import structlog

from ordergate.brokers.base import BrokerOrder, OrderListener
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerError

from .settings import KiteSettings
from .ticker import OrderUpdates
from .translate import dec, order_view

log = structlog.get_logger("ordergate.brokers.kite")


class OrderStream:
    """The poller, the socket and the dispatcher of one adapter.

    ``read_book()`` reads today's order book with its trades; ``order_trades(order_id)``
    one order's trades (both through the adapter's rate-limited calls)."""

    def __init__(
        self,
        settings: KiteSettings,
        api_key: str,
        *,
        read_book: Callable[[], list[BrokerOrder]],
        order_trades: Callable[[str], list[Mapping[str, Any]]],
    ) -> None:
        self.settings = settings
        self._api_key = api_key
        self._read_book = read_book
        self._order_trades = order_trades
        self._socket: OrderUpdates | None = None
        self._socket_lock = threading.Lock()
        self._inbox: queue.Queue[Mapping[str, Any] | None] = queue.Queue()
        self._dispatcher: threading.Thread | None = None
        self._listeners: list[OrderListener] = []
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._seen: dict[str, tuple[str, Decimal, int]] = {}
        self._seen_lock = threading.Lock()
        self._stream_up = False

    def subscribe(self, listener: OrderListener, token: str | None) -> None:
        """Push every later change of any order to ``listener``. The first book is read
        here, before the poller starts, so a change right after this call is seen; the
        socket opens with ``token`` (``None``: the session has expired, no socket yet)."""
        self._listeners.append(listener)
        if self._poller is not None:
            return
        try:
            self.push(self._read_book())
        except BrokerError as exc:
            log.warning("first order book read failed; the poller reads it", error=exc.message)
        self._poller = threading.Thread(target=self._poll, name="kite-poll", daemon=True)
        self._poller.start()
        if self.settings.websocket:
            self._dispatcher = threading.Thread(
                target=self._dispatch, name="kite-order-updates", daemon=True
            )
            self._dispatcher.start()
            if token is not None:
                self._open_socket(token)

    @property
    def stream_up(self) -> bool:
        """Updates are flowing: the last poll answered, or the websocket is up."""
        return self._stream_up or self.socket_up

    @property
    def socket_up(self) -> bool:
        """KiteTicker's websocket is connected (``websocket`` on)."""
        socket = self._socket
        return socket is not None and socket.up

    def token_changed(self, token: str) -> None:
        """The socket's URL carries the token: a new token, a new socket."""
        if self._dispatcher is not None:
            self.close_socket()
            self._open_socket(token)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self.close_socket()
        self._inbox.put(None)

    def poll_now(self) -> None:
        """Wake the poller (a postback, a test)."""
        self._wake.set()

    # ------------------------------------------------------------- the socket

    def _open_socket(self, token: str) -> None:
        with self._socket_lock:
            if self._socket is not None or self._stop.is_set() or not token:
                return
            socket = OrderUpdates(
                self._api_key,
                token,
                root=self.settings.ws_root,
                on_order=self._inbox.put,
                on_up=self._socket_changed,
                on_down=self._socket_changed,
            )
            if socket.start():
                self._socket = socket

    def close_socket(self) -> None:
        """Close the socket (a dead token: it would retry with it); polling takes over."""
        with self._socket_lock:
            socket, self._socket = self._socket, None
        if socket is not None:
            socket.close()
            self._wake.set()  # polling takes over at its own pace

    def _socket_changed(self) -> None:
        """Up: read the books now (what happened while it was down); down: the poller
        goes back to ``poll_interval_s``. Either way, wake it."""
        self._wake.set()

    def _dispatch(self) -> None:
        """One thread turns the socket's order updates into whole views (never the
        reactor's thread: a view may need the order's trades, a REST call)."""
        while True:
            data = self._inbox.get()
            if data is None:
                return
            try:
                self._on_order_update(data)
            except BrokerError as exc:
                log.warning("a kite order update could not be completed", error=exc.message)
            except Exception:
                log.exception("a kite order update failed")

    def _on_order_update(self, data: Mapping[str, Any]) -> None:
        order_id = str(data.get("order_id") or "")
        if not order_id:
            return
        trades: list[Mapping[str, Any]] = []
        if dec(data.get("filled_quantity")) > 0:  # executions come from the trades only
            trades = self._order_trades(order_id)
        self.push([order_view(data, trades, self.settings.exchange)], forward_only=True)

    # ------------------------------------------------------------- the poller

    def _poll(self) -> None:
        while not self._stop.is_set():
            up = self.socket_up
            self._wake.wait(
                self.settings.ws_poll_interval_s if up else self.settings.poll_interval_s
            )
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                views = self._read_book()
            except BrokerError as exc:
                if self._stream_up:
                    log.warning("kite order book poll failed; retrying", error=exc.message)
                self._stream_up = False
                continue
            self._stream_up = True
            self.push(views)
        self._stream_up = False

    def push(
        self,
        views: Iterable[BrokerOrder],
        *,
        only_changes: bool = True,
        forward_only: bool = False,
    ) -> None:
        """Push the views that changed; ``forward_only`` (the socket, whose messages may
        arrive after a poll saw more) also drops a view behind the last one pushed."""
        changed: list[BrokerOrder] = []
        with self._seen_lock:
            for view in views:
                mark = (view.status.value, view.filled_qty, len(view.executions))
                seen = self._seen.get(view.broker_order_id)
                if only_changes and seen == mark:
                    continue
                if forward_only and seen is not None and _behind(mark, seen):
                    continue
                self._seen[view.broker_order_id] = mark
                changed.append(view)
        if not self._listeners:
            return
        for view in changed:
            for listener in list(self._listeners):
                try:
                    listener(view)
                except Exception:  # one bad update must not stop the poller
                    log.exception("a kite listener failed", client_order_id=view.client_order_id)


def _behind(mark: tuple[str, Decimal, int], seen: tuple[str, Decimal, int]) -> bool:
    """A view older than the one pushed: less filled, fewer executions, open again after
    a final status, or back at entry."""
    status, seen_status = OrderStatus(mark[0]), OrderStatus(seen[0])
    return (
        mark[1] < seen[1]
        or mark[2] < seen[2]
        or (seen_status.is_terminal and not status.is_terminal)
        or (status is OrderStatus.SUBMITTED and seen_status is not OrderStatus.SUBMITTED)
    )
