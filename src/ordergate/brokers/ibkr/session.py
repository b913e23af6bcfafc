"""ib_async on its own asyncio loop, in its own thread, reconnecting by itself.

ib_async is asyncio code; its blocking wrappers (``IB.connect``, ``IB.reqOpenOrders``
…) run the loop themselves and fail inside a running loop. So the adapter owns one
loop in one daemon thread, every SDK call is a coroutine scheduled there
(:meth:`IbSession.call`), and the engine's threads wait for the result with a
timeout. The loop is never blocked: the ledger and the listeners run in the caller's
and the dispatcher's threads.

A dropped socket (a TWS or Gateway restart, the daily one included) leaves ib_async
with no state and no reconnect: the session reconnects every ``reconnect_s``, and on
each (re)connection calls ``on_connected`` (the adapter re-reads executions and
orders and pushes them to the stream). IB's 1100 marks TWS cut off from IB (nothing
is sent meanwhile); 1101 / 1102 mark it back, and ``on_restored`` re-reads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

import structlog
from ib_async import IB
from ib_async.ib import StartupFetch

from ordergate.brokers.ibkr.errors import (
    CLIENT_ID_IN_USE,
    LOST,
    RESTORED_DATA_KEPT,
    RESTORED_DATA_LOST,
    sdk_error,
)
from ordergate.domain.errors import BrokerTimeout, BrokerUnavailable, ConfigError, OrderGateError

log = structlog.get_logger("ordergate.brokers.ibkr")
T = TypeVar("T")

#: what ib_async loads at connect: orders, completed orders, positions, executions
#: (account updates are read on demand through the account summary)
STARTUP = (
    StartupFetch.POSITIONS
    | StartupFetch.ORDERS_OPEN
    | StartupFetch.ORDERS_COMPLETE
    | StartupFetch.EXECUTIONS
)


#: how long a client id TWS reports in use (326) is tried again before refusing
IN_USE_GRACE_S = 3.0


#: how late a queued message may reach the socket and still count in its window
PACING_SLACK_S = 0.25


class _InUse(Exception):
    """TWS answered 326 to this connection attempt."""


class IbSession:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: int,
        connect_timeout: float,
        reconnect_s: float,
        max_messages_per_s: int,
        on_connected: Callable[[IB], Awaitable[None]],
        on_restored: Callable[[IB], Awaitable[None]],
        redact: Callable[[str], str],
    ) -> None:
        self.redact = redact
        self.host, self.port, self.client_id = host, port, client_id
        self.connect_timeout = connect_timeout
        self.reconnect_s = reconnect_s
        self.max_messages_per_s = max_messages_per_s
        self._on_connected = on_connected
        self._on_restored = on_restored
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="ibkr-loop", daemon=True)
        self._thread.start()
        self.ib: IB | None = None
        #: TWS has lost IB's servers (1100) and not yet got them back
        self.cut_off = False
        self.ever_connected = False
        self.closed = False
        self._connecting: asyncio.Lock | None = None
        self.requests: asyncio.Lock | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._in_use = False
        self._connecting_task: asyncio.Future[IB] | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    # -------------------------------------------------------------- calls

    def call(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float, what: str) -> T:
        """Run ``make()`` on the session's loop; wait at most ``timeout`` seconds.

        A timeout is :class:`BrokerTimeout` (the coroutine is cancelled; what it sent
        may have arrived)."""
        future = asyncio.run_coroutine_threadsafe(make(), self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise BrokerTimeout(f"IB did not answer {what} within {timeout:g}s") from None
        except OrderGateError:
            raise
        except Exception as exc:  # no SDK exception leaves the adapter
            raise sdk_error(exc, self.redact) from exc

    def ready(self) -> bool:
        return self.ib is not None and self.ib.isConnected() and self.ib.client.isReady()

    async def connected(self) -> IB:
        """The connected IB, connecting first if needed (:class:`BrokerUnavailable`
        when TWS cannot be reached: nothing was sent)."""
        if self._connecting is None:
            self._connecting = asyncio.Lock()
            self.requests = asyncio.Lock()
        async with self._connecting:
            if self.ready():
                assert self.ib is not None
                return self.ib
            return await self._connect()

    async def _connect(self) -> IB:
        """Connect; TWS's 326 (the client id is held by a live connection) is tried
        again for ``IN_USE_GRACE_S`` — the connection of a process that just died is
        released once TWS has read its last messages — then refused."""
        deadline = self.loop.time() + IN_USE_GRACE_S
        while True:
            try:
                return await self._connect_once()
            except _InUse as exc:
                if self.loop.time() >= deadline:
                    message = (
                        f"IB client id {self.client_id} is in use by another connection "
                        "(IB error 326): IB binds orders to the client id that placed "
                        "them, so one process holds an id at a time; stop the other or "
                        "set ORDERGATE_IBKR_CLIENT_ID"
                    )
                    if not self.ever_connected:
                        raise ConfigError(message, context={"client_id": self.client_id}) from exc
                    raise BrokerUnavailable(message) from exc
                await asyncio.sleep(0.05)

    async def _connect_once(self) -> IB:
        ib = IB()
        ib.RaiseRequestErrors = True
        ib.client.MaxRequests = self.max_messages_per_s
        # ib_async stamps a batch of queued messages with the time its callback started;
        # on a loaded machine the last of a batch reach the socket later than that, so the
        # window is widened by the lateness tolerated (a quarter second): any second at
        # the socket then holds at most MaxRequests messages
        ib.client.RequestsInterval = 1.0 + PACING_SLACK_S  # type: ignore[assignment]  # a float works
        task = asyncio.ensure_future(
            ib.connectAsync(
                self.host,
                self.port,
                clientId=self.client_id,
                timeout=self.connect_timeout,
                fetchFields=STARTUP,
            )
        )
        self._connecting_task = task
        ib.errorEvent += self._on_error
        try:
            await task
        except asyncio.CancelledError:
            ib.errorEvent -= self._on_error
            if task.cancelled() and self._in_use:
                self._in_use = False
                raise _InUse from None
            raise
        except (OSError, TimeoutError, ConnectionError) as exc:
            ib.errorEvent -= self._on_error
            raise BrokerUnavailable(
                f"cannot reach TWS / IB Gateway at {self.host}:{self.port} "
                f"({type(exc).__name__}: {exc}); nothing was sent"
            ) from exc
        finally:
            self._connecting_task = None
        self.ib = ib
        self.cut_off = False
        self.ever_connected = True
        ib.disconnectedEvent += self._on_disconnected
        log.info("connected to IB", host=self.host, port=self.port, client_id=self.client_id)
        await self._on_connected(ib)
        return ib

    def _on_error(self, req_id: int, code: int, text: str, contract: object) -> None:
        if code == CLIENT_ID_IN_USE:
            self._in_use = True
            if self._connecting_task is not None:
                self._connecting_task.cancel()  # TWS closes the socket; no need to wait
        elif code == LOST:
            self.cut_off = True
            log.warning("IB 1100: TWS lost its connection to IB; nothing is sent until back")
        elif code in (RESTORED_DATA_LOST, RESTORED_DATA_KEPT):
            self.cut_off = False
            log.warning("IB connection restored; re-reading executions", ib_code=code)
            if self.ib is not None:
                self.loop.create_task(self._restored(self.ib))

    async def _restored(self, ib: IB) -> None:
        try:
            await self._on_restored(ib)
        except Exception:  # a re-read that fails is retried at the next event
            log.exception("re-reading after IB restored the connection failed")

    def keep_connected(self) -> None:
        """Connect now, and keep trying every ``reconnect_s`` until connected (the
        stream needs the socket even when nothing else is asked of IB)."""
        self.loop.call_soon_threadsafe(self._start_reconnecting, 0.0)

    def _on_disconnected(self) -> None:
        log.warning("the IB API socket dropped; reconnecting", every_s=self.reconnect_s)
        self._start_reconnecting(self.reconnect_s)

    def _start_reconnecting(self, first_wait: float) -> None:
        if not self.closed and (self._reconnector is None or self._reconnector.done()):
            self._reconnector = self.loop.create_task(self._reconnect(first_wait))

    async def _reconnect(self, wait: float) -> None:
        while not self.closed and not self.ready():
            await asyncio.sleep(wait)
            wait = self.reconnect_s
            try:
                await self.connected()
            except (BrokerUnavailable, ConfigError) as exc:
                log.warning("reconnecting to IB failed", error=exc.message)
            except Exception:
                log.exception("reconnecting to IB failed")

    # -------------------------------------------------------------- close

    def close(self) -> None:
        self.closed = True

        async def stop() -> None:
            if self.ib is not None:
                self.ib.disconnectedEvent -= self._on_disconnected
                self.ib.disconnect()
            if self._reconnector is not None:
                self._reconnector.cancel()

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
        if not self._thread.is_alive() and not self.loop.is_closed():
            self.loop.close()
