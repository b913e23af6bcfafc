"""alpaca-py's ``TradingStream`` on a thread of its own, telling us when it is up.

The SDK's stream runs its own asyncio loop (``run()``), reconnects by itself with a
1–30 s backoff, and replays nothing it missed. It has no hook for "connected again",
so :class:`TradeUpdates` calls ``on_up`` when Alpaca confirms the subscription (its
``listening`` message, after every (re)connect) and ``on_down`` when the socket goes;
the adapter then catches up by REST.
Messages are handed to ``on_message`` raw (``raw_data=True``: quantities stay strings),
never processed on the stream's loop: the adapter's dispatcher thread does the work.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from alpaca.trading.stream import TradingStream


class TradeUpdates(TradingStream):
    """The ``trade_updates`` stream with up/down callbacks."""

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        *,
        paper: bool,
        url: str | None,
        on_message: Callable[[dict[str, Any]], None],
        on_up: Callable[[], None],
        on_down: Callable[[], None],
        reconnect_min_s: float,
    ) -> None:
        super().__init__(
            api_key,
            secret_key,
            paper=paper,
            raw_data=True,
            url_override=url,  # type: ignore[arg-type]
        )
        self._reconnect_min_backoff = reconnect_min_s
        self._on_up, self._on_down = on_up, on_down

        async def handler(message: dict[str, Any]) -> None:
            on_message(message)

        self.subscribe_trade_updates(handler)
        self._thread: threading.Thread | None = None

    async def _dispatch(self, msg: dict[str, Any]) -> None:
        # "up" is Alpaca's ``listening`` answer, not the socket: only from then on does
        # the stream carry our updates, so the catch-up runs after it, never before
        if msg.get("stream") == "listening":
            self._on_up()
            return
        await super()._dispatch(msg)

    async def close(self) -> None:
        was_open = self._ws is not None
        await super().close()
        if was_open:
            self._on_down()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="alpaca-stream", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        loop: Any = self._loop  # typed None by the SDK; its running loop once started
        if loop is not None and loop.is_running():
            self.stop()
            # the SDK notices its stop flag only between 5 s receive timeouts: close the
            # socket too, so the loop ends now
            asyncio.run_coroutine_threadsafe(self.close(), loop).result(5)
        if self._thread is not None:
            self._thread.join(5)
