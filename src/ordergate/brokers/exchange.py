"""The adapter for the simulated exchange process (``ordergate exchange --port N``).

It translates, it decides nothing. Transport failures become our errors here, at the
boundary, by what they say about the order (see ``exchange/protocol.py``):

- connection refused, connect timeout, **503**, **429** → :class:`BrokerUnavailable`
  (nothing was received: safe to send again);
- a write whose request went out but whose answer did not come back (read timeout,
  dropped connection, another 5xx, a garbled body) → :class:`BrokerTimeout` (the
  outcome is unknown: look the order up by ``client_order_id``);
- **422** (and 400) → :class:`BrokerRejected`; **404** on a look-up → ``None``.

The report stream is a long poll on a daemon thread; every report is pushed to the
listeners. :attr:`ExchangeBroker.stream_up` tells order tracking whether to poll.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import deque
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import structlog

from ordergate.brokers.base import (
    BrokerAccount,
    BrokerOrder,
    BrokerPosition,
    OrderListener,
    OrderRequest,
)
from ordergate.domain.capabilities import BrokerCapabilities, ClientIdDedupe, Lookup, Modify
from ordergate.domain.enums import OrderType, TimeInForce
from ordergate.domain.errors import BrokerRejected, BrokerTimeout, BrokerUnavailable
from ordergate.domain.market import Mark
from ordergate.domain.money import fmt
from ordergate.exchange.protocol import (
    API,
    FAULT_HEADER,
    account_from_json,
    order_from_json,
    position_from_json,
)
from ordergate.resilience.crashpoint import crashpoint

log = structlog.get_logger("ordergate.brokers.exchange")


def exchange_capabilities(*, dedupes: bool, lookup_miss_conclusive: bool) -> BrokerCapabilities:
    """The simulated exchange as it is: it dedupes unless started with ``dedupe=false``;
    the client id travels in a URL path (so: URL-safe characters); DAY and GTC never end
    (a 24/7 market, nothing expires); the stream resumes from its cursor, replaying what
    it missed. A miss is conclusive only if the caller says so: a look-up can overtake
    a submit still queued at the server, and the ``hide_ms`` fault hides orders."""
    return BrokerCapabilities(
        dedupe=ClientIdDedupe.ALWAYS if dedupes else ClientIdDedupe.NEVER,
        lookup=Lookup.BY_CLIENT_ID,
        lookup_miss_conclusive=lookup_miss_conclusive,
        client_id_max_length=128,
        client_id_alphabet=r"[A-Za-z0-9._~-]+",
        order_types=frozenset(OrderType),
        time_in_force=frozenset(
            {TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}
        ),
        stream_replays=True,
        modify=Modify.REPLACE,  # in place; a repeated replace id is not applied twice
        market_data=True,  # GET /marks/{symbol}: the venue's own last price
        simulated=True,
    )


class ExchangeBroker:
    """``BrokerAdapter`` over the exchange's HTTP/JSON protocol."""

    adapter_id = "exchange"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 2.0,
        dedupes_client_order_id: bool = True,
        lookup_miss_conclusive: bool = False,
        stream: bool = True,
        stream_wait: float = 1.0,
        account_id: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self.timeout = timeout
        #: The exchange dedupes unless started with ``dedupe=false``; say which it is.
        self.capabilities = exchange_capabilities(
            dedupes=dedupes_client_order_id, lookup_miss_conclusive=lookup_miss_conclusive
        )
        self._account = account_id
        self._listeners: list[OrderListener] = []
        self._injected: dict[str, deque[str]] = {}
        self._inject_lock = threading.Lock()
        self._stream_enabled = stream
        self._stream_wait = stream_wait
        self._stream_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._stream_up = False

    @property
    def dedupes_client_order_id(self) -> bool:
        return self.capabilities.dedupes_client_order_id

    # ---------------------------------------------------------- the port

    def submit(self, request: OrderRequest) -> BrokerOrder:
        status, body = self._call("POST", "/orders", request.to_dict(), op="submit")
        crashpoint("after_reply")
        if status == 200:
            return order_from_json(body["order"])
        raise BrokerRejected(
            str(body.get("reason") or "rejected by the exchange"),
            context={"client_order_id": request.client_order_id},
        )

    def cancel(self, client_order_id: str) -> BrokerOrder:
        status, body = self._call("POST", f"/orders/{client_order_id}/cancel", {}, op="cancel")
        if status == 200:
            return order_from_json(body["order"])
        raise BrokerRejected(
            f"the exchange does not know order {client_order_id}",
            context={"client_order_id": client_order_id},
        )

    def modify(
        self,
        client_order_id: str,
        *,
        new_client_order_id: str,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder:
        """Replace in place (``Modify.REPLACE``); ``new_client_order_id`` names the
        replace, which the exchange applies once however often it is sent."""
        body = {
            "replace_id": new_client_order_id,
            "qty": fmt(qty),
            "limit_price": fmt(limit_price),
            "stop_price": fmt(stop_price),
        }
        path = f"/orders/{client_order_id}/replace"
        status, answer = self._call("POST", path, body, op="modify")
        crashpoint("after_modify_reply")
        if status == 200:
            return order_from_json(answer["order"])
        raise BrokerRejected(
            str(answer.get("reason") or f"the exchange does not know order {client_order_id}"),
            context={"client_order_id": client_order_id},
        )

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        status, body = self._call("GET", f"/orders/{client_order_id}", None, op="fetch_order")
        return order_from_json(body["order"]) if status == 200 else None

    def fetch_open_orders(self) -> list[BrokerOrder]:
        _, body = self._call("GET", "/orders?open=1", None, op="fetch_open_orders")
        orders = [order_from_json(o) for o in body["orders"]]
        return [o for o in orders if self._mine(o)]

    def fetch_all_orders(self) -> list[BrokerOrder]:
        """Every order the exchange holds, duplicates included (for crash tests)."""
        _, body = self._call("GET", "/orders?all=1", None, op="fetch_all_orders")
        return [o for o in (order_from_json(x) for x in body["orders"]) if self._mine(o)]

    def fetch_quote(self, symbol: str) -> Mark | None:
        """The exchange's last price for ``symbol`` (the market-data port)."""
        status, body = self._call("GET", f"/marks/{symbol}", None, op="fetch_quote")
        if status != 200:
            return None
        data = body["mark"]
        return Mark.parse(symbol, data, datetime.fromisoformat(str(data["ts"])))

    def fetch_positions(self) -> list[BrokerPosition]:
        query = f"?account={self._account}" if self._account else ""
        _, body = self._call("GET", f"/positions{query}", None, op="fetch_positions")
        return [position_from_json(p) for p in body["positions"]]

    def fetch_account(self) -> BrokerAccount:
        _, body = self._call(
            "GET", f"/account?account={self._account or 'default'}", None, op="fetch_account"
        )
        return account_from_json(body["account"])

    def subscribe(self, listener: OrderListener) -> None:
        """Push every change from now on. The stream's cursor is taken here, before
        the thread starts, so a change right after this call is never skipped."""
        self._listeners.append(listener)
        if self._stream_enabled and self._stream_thread is None:
            self._stream_thread = threading.Thread(
                target=self._stream,
                args=(self._cursor_now(),),
                name="exchange-stream",
                daemon=True,
            )
            self._stream_thread.start()

    # ------------------------------------------------------ test helpers

    def inject(self, operation: str, faults: str) -> None:
        """Send ``X-Fault: faults`` with the next ``operation`` call (tests)."""
        with self._inject_lock:
            self._injected.setdefault(operation, deque()).append(faults)

    def mark(self, symbol: str, last: str, bid: str | None = None, ask: str | None = None) -> int:
        """Move the exchange's market (it is a simulator: someone has to)."""
        body = {"symbol": symbol, "last": last, "bid": bid, "ask": ask}
        _, answer = self._call("POST", "/marks", body, op="mark")
        return int(answer["filled"])

    def on_mark(self, mark: Mark) -> None:
        """The engine was told the market (``ordergate mark``, ``POST /v1/marks``): pass
        it on, so the exchange can fill market orders and the resting ones it crosses."""
        self.mark(mark.symbol, fmt(mark.last) or "0", fmt(mark.bid), fmt(mark.ask))

    def set_faults(self, knobs: dict[str, Any]) -> None:
        self._call("POST", "/faults", knobs, op="faults")

    @property
    def stream_up(self) -> bool:
        return self._stream_up

    def close(self) -> None:
        self._stop.set()

    # --------------------------------------------------------- transport

    def _mine(self, order: BrokerOrder) -> bool:
        return self._account is None or order.raw.get("account_id") == self._account

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None, *, op: str, timeout: float = 0
    ) -> tuple[int, dict[str, Any]]:
        """One request; return (status, body) for 200/404/422/400, raise otherwise."""
        writes = method == "POST"
        headers = {"Content-Type": "application/json", "Connection": "close"}
        with self._inject_lock:
            queued = self._injected.get(op)
            if queued:
                headers[FAULT_HEADER] = queued.popleft()
        conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout or self.timeout)
        try:
            try:
                conn.connect()
            except OSError as exc:
                raise BrokerUnavailable(
                    f"cannot reach the exchange at {self._host}:{self._port}: {exc}",
                    context={"operation": op},
                ) from exc
            payload = None if body is None else json.dumps(body).encode()
            try:
                conn.request(method, API + path, body=payload, headers=headers)
                if op == "submit":
                    crashpoint("after_send")
                elif op == "modify":
                    crashpoint("after_modify_send")
                response = conn.getresponse()
                status, raw = response.status, response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise self._lost(op, writes, f"no answer from the exchange: {exc!r}") from exc
        finally:
            conn.close()
        return self._decode(op, writes, status, raw)

    def _decode(self, op: str, writes: bool, status: int, raw: bytes) -> tuple[int, dict[str, Any]]:
        if status in (429, 503):
            raise BrokerUnavailable(
                f"the exchange answered {status}: nothing was done", context={"operation": op}
            )
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise self._lost(op, writes, f"unreadable answer ({status})") from exc
        if status in (200, 404, 422, 400) and isinstance(data, dict):
            if status == 400:
                raise BrokerRejected(str(data.get("reason")), context={"operation": op})
            return status, data
        raise self._lost(op, writes, f"the exchange answered {status}")

    @staticmethod
    def _lost(op: str, writes: bool, message: str) -> BrokerTimeout | BrokerUnavailable:
        if writes:
            return BrokerTimeout(f"{message}; outcome unknown", context={"operation": op})
        return BrokerUnavailable(message, context={"operation": op})

    def _cursor_now(self) -> int | None:
        """The stream's last sequence number now; ``None`` when the exchange cannot
        say (the stream thread asks again once it is back; tracking polls meanwhile)."""
        try:
            _, health = self._call("GET", "/health", None, op="stream")
        except (BrokerUnavailable, BrokerTimeout, BrokerRejected):
            return None
        return int(health["last_seq"])

    def _stream_down(self, why: str, error: str, backoff: float) -> float:
        """The stream is down (logged once a streak): wait ``backoff``; the next one."""
        if self._stream_up:
            log.warning(why, error=error)
        self._stream_up = False
        self._stop.wait(backoff)
        return min(1.0, backoff * 2)

    def _stream(self, cursor: int | None) -> None:
        """Long-poll the report stream after ``cursor`` until closed; reconnect with
        backoff, resuming after the last report seen (so nothing missed is lost)."""
        backoff = 0.05
        while not self._stop.is_set():
            try:
                if cursor is None:
                    _, health = self._call("GET", "/health", None, op="stream")
                    cursor = int(health["last_seq"])
                _, body = self._call(
                    "GET",
                    f"/reports?after={cursor}&wait={self._stream_wait}",
                    None,
                    op="stream",
                    timeout=self._stream_wait + self.timeout,
                )
            except (BrokerUnavailable, BrokerTimeout, BrokerRejected) as exc:
                backoff = self._stream_down("report stream down; tracking polls", str(exc), backoff)
                continue
            try:
                orders = [order_from_json(report["order"]) for report in body["reports"]]
                last = int(body["last"])
            except (KeyError, TypeError, ValueError) as exc:
                # not the exchange's answer (another server on the port, a proxy's page):
                # the stream is down, not this thread
                why = "report stream answered nonsense; tracking polls"
                backoff = self._stream_down(why, repr(exc), backoff)
                continue
            self._stream_up, backoff = True, 0.05
            for order in orders:
                self._deliver(order)
            cursor = max(cursor, last)
        self._stream_up = False

    def _deliver(self, order: BrokerOrder) -> None:
        if not self._mine(order):
            return
        for listener in self._listeners:
            try:
                listener(order)
            except Exception:  # one bad update must not stop the stream
                log.exception("a stream listener failed", client_order_id=order.client_order_id)
