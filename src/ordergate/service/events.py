"""``GET /v1/events``: every status change as server-sent events, from the engine's bus.

The engine publishes on whatever thread ran the unit of work; each connected client
has an :class:`asyncio.Queue` on the event loop, and :meth:`Broadcaster.publish` hands
an event to every queue with ``call_soon_threadsafe`` — it never blocks the engine and
never waits for a slow client. A client that falls ``max_queue`` events behind is cut
off (its stream ends); the dashboard reconnects and reloads its snapshot, which is
cheaper and more honest than buffering without bound.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ordergate.bus.memory import Event
from ordergate.obs.redact import Redactor

HEARTBEAT_SECONDS = 15.0
#: The last frame a client that fell behind gets (compared by identity).
_OVERFLOW = b"event: overflow\ndata: {}\n\n"
#: Ends a stream without a frame (the server is stopping).
_END = b": bye\n\n"


@dataclass(eq=False)
class _Client:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))


class Broadcaster:
    """Fans bus events out to every connected SSE client."""

    def __init__(self, redactor: Redactor, *, max_queue: int = 1000) -> None:
        self._redactor = redactor
        self._max_queue = max_queue
        self._clients: list[_Client] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def publish(self, event: Event) -> None:
        """A bus handler (any thread): frame the event once, offer it to every client."""
        with self._lock:
            clients = list(self._clients)
        if not clients:
            return
        frame = self.frame(event.topic, event.payload)
        for client in clients:
            try:
                client.loop.call_soon_threadsafe(_offer, client.queue, frame)
            except RuntimeError:  # the client's loop is closed: it is going away
                continue

    def close(self) -> None:
        """End every stream (the server is stopping): clients reconnect elsewhere or later."""
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            try:
                client.loop.call_soon_threadsafe(_offer, client.queue, _END)
            except RuntimeError:
                continue

    def frame(self, topic: str, payload: dict[str, Any]) -> bytes:
        data = json.dumps(self._redactor.scrub(payload), separators=(",", ":"), default=str)
        return f"id: {next(self._ids)}\nevent: {topic}\ndata: {data}\n\n".encode()

    async def stream(self) -> AsyncIterator[bytes]:
        """One client's stream: a hello, then events and heartbeats until it goes."""
        client = _Client(asyncio.get_running_loop(), asyncio.Queue(maxsize=self._max_queue))
        with self._lock:
            self._clients.append(client)
        try:
            yield b"retry: 1000\n: connected\n\n"
            while True:
                try:
                    frame = await asyncio.wait_for(client.queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield b": ping\n\n"
                    continue
                if frame is _END:
                    return
                yield frame
                if frame is _OVERFLOW:
                    return
        finally:
            with self._lock:
                self._clients.remove(client)


def _offer(queue: asyncio.Queue[bytes], frame: bytes) -> None:
    if queue.full() and frame is _END:
        queue.get_nowait()
        queue.put_nowait(_END)
    elif queue.full():
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_OVERFLOW)
    else:
        queue.put_nowait(frame)
