"""Kite's order updates over the SDK's ``KiteTicker`` websocket (Twisted / autobahn).

Kite pushes an order update, for every order of the user, as a JSON text message
``{"type": "order", "data": {...}}`` (the postback's fields); ticks come as binary frames,
which are not asked for here (no instrument is subscribed). The socket skips
intermediate states and replays nothing it missed, so the adapter treats it as a nudge
with the order's fields: each update becomes a whole view only with the order's trades,
and after every (re)connect the order book is read again.

**One reactor per process.** Twisted's reactor is process-global and cannot be started
twice: it runs on one daemon thread (started by the first stream, never stopped), and
every stream is connected and closed *on* that thread (``callFromThread``), as Twisted
requires. A forked child cannot use the parent's reactor (its thread did not survive the
fork): there the stream refuses to start and the adapter keeps polling, saying so.

The ``KiteTicker`` is built with ``debug=False`` always: its debug mode starts Twisted's
log on stdout, which would print the socket URL with the access token in it. The SDK's
own logger is guarded by the adapter's redactor.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

import structlog

log = structlog.get_logger("ordergate.brokers.kite")


class _ReactorThread:
    """Twisted's reactor on its daemon thread: one per process, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None

    def get(self) -> Any:
        """The running reactor; None in a forked child of a process whose reactor runs
        (its thread did not survive the fork, and a reactor cannot start twice)."""
        from twisted.internet import reactor as installed

        reactor: Any = installed  # the default reactor (epoll), installed by this import
        with self._lock:
            if self._pid is None and reactor.running:  # started by another part of us
                self._pid = os.getpid()
            elif self._pid is None:
                thread = threading.Thread(
                    target=reactor.run,
                    kwargs={"installSignalHandlers": False},
                    name="kite-reactor",
                    daemon=True,
                )
                thread.start()
                self._pid = os.getpid()
            elif self._pid != os.getpid():
                return None
        return reactor


_REACTOR = _ReactorThread()


class OrderUpdates:
    """One ``KiteTicker`` connection, telling the adapter when it is up and down and
    handing it every order update (on the reactor's thread: hand off, never block)."""

    def __init__(
        self,
        api_key: str,
        access_token: str,
        *,
        root: str,
        on_order: Callable[[Mapping[str, Any]], None],
        on_up: Callable[[], None],
        on_down: Callable[[], None],
        reconnect_max_delay_s: int = 5,
        connect_timeout_s: int = 10,
    ) -> None:
        from kiteconnect import KiteTicker

        self._ticker = KiteTicker(
            api_key,
            access_token,
            debug=False,
            root=root,
            reconnect=True,
            reconnect_max_tries=300,  # the SDK's most; a day of 5 s retries is ~17,000
            reconnect_max_delay=reconnect_max_delay_s,
            connect_timeout=connect_timeout_s,
        )
        self._up = False
        self._closed = False
        self._reactor: Any = None

        def order(_ws: object, data: Mapping[str, Any]) -> None:
            if isinstance(data, Mapping):
                on_order(data)

        def connected(_ws: object, _response: object) -> None:
            self._up = True
            on_up()

        def gone(_ws: object, code: object, reason: object) -> None:
            if self._up:
                self._up = False
                on_down()

        def exhausted(_ws: object) -> None:
            log.error("the Kite websocket gave up reconnecting; the adapter keeps polling")

        self._ticker.on_order_update = order
        self._ticker.on_connect = connected
        self._ticker.on_close = gone
        self._ticker.on_noreconnect = exhausted

    @property
    def up(self) -> bool:
        return self._up

    def start(self) -> bool:
        """Connect (and reconnect by itself from then on); False where this process
        cannot run Twisted's reactor (a forked child)."""
        reactor = _REACTOR.get()
        if reactor is None:
            log.warning("the Kite websocket cannot run in a forked process; polling only")
            return False
        self._reactor = reactor
        reactor.callFromThread(self._ticker.connect)
        return True

    def close(self) -> None:
        """Stop reconnecting and close the socket (on the reactor's thread)."""
        if self._closed or self._reactor is None:
            return
        self._closed = True
        done = threading.Event()

        def close() -> None:
            try:
                self._ticker.stop_retry()
                if self._ticker.ws is not None:
                    self._ticker.ws.sendClose()
            finally:
                done.set()

        self._reactor.callFromThread(close)
        done.wait(5)
