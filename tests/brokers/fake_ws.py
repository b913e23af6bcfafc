"""A websocket server on 127.0.0.1 with its own asyncio loop on a thread: what the
broker fakes that stream (Kite's ticker, Alpaca's ``trade_updates``) share.

A fake subclasses :class:`LoopbackWebsocket` and writes what its broker speaks:
``_gate`` (the HTTP handshake: refuse with a status, or ``None`` to go on), ``_serve``
(one connection), and optionally ``_started`` (tasks to run beside the server, cancelled
at :meth:`stop`). :meth:`call` runs a coroutine on the fake's loop from a test's thread.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any, TypeVar

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

T = TypeVar("T")


class LoopbackWebsocket(ABC):
    """The server, its loop and thread, and the connections it holds (``clients``)."""

    #: the path of :attr:`url` ("" for the root)
    path = ""

    def __init__(self, *, thread_name: str = "fake-ws", **serve_options: Any) -> None:
        """``serve_options`` go to ``websockets.serve`` (e.g. ``ping_interval=None``)."""
        self._serve_options = serve_options
        self.loop = asyncio.new_event_loop()
        self.clients: set[ServerConnection] = set()
        self.down = False
        self.server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    @property
    def url(self) -> str:
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}{self.path}"

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(5), "the fake websocket did not start"

    def stop(self) -> None:
        async def close() -> None:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self.server is not None:
                self.server.close()
                await self.server.wait_closed()

        self.call(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the fake's loop and wait (5 s at most) for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(5)

    # ------------------------------------------------------------ to write

    def _gate(self, connection: ServerConnection, request: Request) -> Response | None:
        return None

    @abstractmethod
    async def _serve(self, ws: ServerConnection) -> None:
        """One connection, as the broker serves it."""

    async def _started(self) -> list[asyncio.Task[None]]:
        return []

    # ------------------------------------------------------------- serving

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def up() -> None:
            self.server = await serve(
                self._serve, "127.0.0.1", 0, process_request=self._gate, **self._serve_options
            )
            self._tasks = await self._started()
            self._ready.set()

        self.loop.run_until_complete(up())
        self.loop.run_forever()
