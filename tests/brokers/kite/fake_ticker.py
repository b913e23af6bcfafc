"""A fake of Kite's websocket (``wss://ws.kite.trade``) on 127.0.0.1, for the real
``KiteTicker`` (Twisted / autobahn).

What it speaks, as Kite does: the handshake is refused with HTTP 403 unless the query
carries ``api_key`` and a valid ``access_token``; a one-byte *binary* heartbeat every
``heartbeat_s``; every change of an order as a *text* frame ``{"type": "order", "data":
{...}}`` with the postback's fields (the order book row, ``account_id``,
``unfilled_quantity``, an empty ``checksum``); an ``{"type": "error", "data": …}`` text
frame when told; subscribe / mode messages from the client are read and ignored (no
instrument ticks are served). Every client gets every order update of the user.

Knobs: ``cut()`` closes every connection without a close handshake and refuses new
ones (HTTP 503) until ``restore()``; ``mute`` drops order updates while connected (lost:
nothing is replayed); ``duplicate`` sends each update twice; ``hold()`` keeps updates
back and ``release(reverse=...)`` sends them, in order or reversed; ``connections``
counts accepted handshakes; ``sent`` counts order frames sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from tests.brokers.fake_ws import LoopbackWebsocket


class FakeTicker(LoopbackWebsocket):
    """Kite's websocket; ``tokens`` is the REST fake's live token set (shared)."""

    def __init__(
        self, api_key: str, tokens: Callable[[], Iterable[str]], *, heartbeat_s: float = 1.0
    ) -> None:
        super().__init__(thread_name="fake-kite-ws", ping_interval=None)
        self.api_key = api_key
        self._tokens = tokens
        self.heartbeat_s = heartbeat_s
        self.mute = False
        self.duplicate = False
        self.connections = 0
        self.refused = 0
        self.sent = 0
        self._held: list[str] | None = None
        self._outbox: asyncio.Queue[str] | None = None

    def start(self) -> FakeTicker:  # type: ignore[override]
        super().start()
        return self

    # ---------------------------------------------------------------- knobs

    def cut(self) -> None:
        """Drop every connection (no close handshake) and refuse new ones."""

        async def apply() -> None:
            self.down = True
            for ws in list(self.clients):
                ws.transport.abort()

        self.call(apply())

    def restore(self) -> None:
        self.down = False

    def close_all(self, code: int = 1000, reason: str = "") -> None:
        """Close every connection with a close frame (Kite does, on a dead token)."""

        async def apply() -> None:
            for ws in list(self.clients):
                await ws.close(code, reason)

        self.call(apply())

    def hold(self) -> None:
        self._held = []

    def release(self, *, reverse: bool = False) -> None:
        held, self._held = self._held or [], None
        for text in reversed(held) if reverse else held:
            self._send(text)

    def send_error(self, message: str) -> None:
        self._send(json.dumps({"type": "error", "data": message}))

    # ------------------------------------------------------------ the feed

    def publish(self, row: dict[str, Any], user_id: str) -> None:
        """An order changed (called by the REST fake, under its lock): tell every client."""
        data = dict(row)
        data.update(
            account_id=user_id,
            unfilled_quantity=row.get("pending_quantity"),
            checksum="",
            exchange_update_timestamp=row.get("exchange_timestamp"),
        )
        text = json.dumps({"type": "order", "data": data}, default=str)
        if self.mute:
            return
        if self._held is not None:
            self._held.append(text)
            return
        self._send(text)
        if self.duplicate:
            self._send(text)

    def _send(self, text: str) -> None:
        outbox = self._outbox
        if outbox is not None:
            self.loop.call_soon_threadsafe(outbox.put_nowait, text)

    # ------------------------------------------------------------- serving

    async def _started(self) -> list[asyncio.Task[None]]:
        self._outbox = asyncio.Queue()
        return [self.loop.create_task(self._sender()), self.loop.create_task(self._heartbeat())]

    def _gate(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.down:
            self.refused += 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "down\n")
        query = parse_qs(urlsplit(request.path).query)
        key = (query.get("api_key") or [""])[0]
        token = (query.get("access_token") or [""])[0]
        if key != self.api_key or token not in set(self._tokens()):
            self.refused += 1
            return connection.respond(HTTPStatus.FORBIDDEN, "invalid api_key or access_token\n")
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.clients.add(ws)
        try:
            async for _message in ws:  # subscribe / mode: read, no ticks served
                pass
        except Exception:
            pass
        finally:
            self.clients.discard(ws)

    async def _sender(self) -> None:
        assert self._outbox is not None
        while True:
            text = await self._outbox.get()
            for ws in list(self.clients):
                try:
                    await ws.send(text)
                    if text.startswith('{"type": "order"'):
                        self.sent += 1
                except Exception:
                    continue

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            for ws in list(self.clients):
                try:
                    await ws.send(b"\x00")
                except Exception:
                    continue
