"""A fake Alpaca on 127.0.0.1: the trading REST API (``/v2/...``), the market-data
latest quote, and the ``trade_updates`` websocket, answering with Alpaca's documented
shapes (strings for quantities and prices, ISO times with ``Z``).

Fault knobs (armed for the next submit with :meth:`FakeAlpaca.arm`): ``drop_reply``
(take the order, close the socket unanswered), ``504_after`` (take it, answer 504),
``429`` / ``503`` (refuse it untaken), ``reject`` (403 insufficient buying power),
``hide=<s>`` (taken, invisible to look-ups for s seconds), ``parts=<n>`` (a later
:meth:`trade` fills it in n executions), ``race`` (a cancel only goes pending: the
fill still comes). The stream: :meth:`drop_stream` closes every socket and refuses
new ones until :meth:`restore_stream`; ``duplicate`` / ``reorder`` shape each batch.
Every REST request is timestamped (:meth:`max_in_window`); with ``limit`` set the fake
answers 429 past it, as Alpaca does.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from tests.brokers.fake_ws import LoopbackWebsocket

ACCOUNT_ID = "904837e3-3b76-47ec-b432-046db621571b"
ACCOUNT_NUMBER = "PA3SECRETNUM1"
_UNIQUE = {"code": 40010001, "message": "client_order_id must be unique"}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


class FakeAlpaca:
    def __init__(self, key: str, secret: str, *, cash: Decimal = Decimal(1_000_000)) -> None:
        self.key, self.secret = key, secret
        self.lock = threading.RLock()
        self.orders: dict[str, dict[str, Any]] = {}
        self.by_cid: dict[str, str] = {}
        self.activities: list[dict[str, Any]] = []
        self.positions: dict[str, list[Decimal]] = {}  # symbol -> [qty, avg]
        self.cash = cash
        self.prices: dict[str, Decimal] = {}
        self.requests: deque[tuple[float, str, str]] = deque()
        self.limit: tuple[int, float] | None = None
        self.throttled = 0
        self._armed: list[str] = []
        self._hidden: dict[str, float] = {}
        self._parts: dict[str, int] = {}
        self._race: set[str] = set()
        self._seq = 0
        self._desk = 0
        self.duplicate = False
        self.reorder = False
        self.stream = _Hub(self)
        self.http = _Server(("127.0.0.1", 0), _handler(self))
        self.http.daemon_threads = True
        self._thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    # ------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def start(self) -> FakeAlpaca:
        self._thread.start()
        self.stream.start()
        return self

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.stream.stop()

    # ------------------------------------------------------------ knobs
    def arm(self, fault: str) -> None:
        with self.lock:
            self._armed.append(fault)

    def mark(self, symbol: str, price: Decimal) -> None:
        with self.lock:
            self.prices[symbol] = price

    def drop_stream(self) -> None:
        self.stream.set_down(True)

    def restore_stream(self) -> None:
        self.stream.set_down(False)

    def max_in_window(self, window: float) -> int:
        with self.lock:
            times = [t for t, _, _ in self.requests]
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def orders_for(self, cid: str) -> list[dict[str, Any]]:
        with self.lock:
            return [o for o in self.orders.values() if o["client_order_id"] == cid]

    # ------------------------------------------------------------ the market
    def trade(self, order_id: str) -> None:
        """The market trades a resting order: what is left of it, in parts if armed."""
        with self.lock:
            order = self.orders[order_id]
            if order["status"] not in ("new", "partially_filled", "pending_cancel", "accepted"):
                return
            parts = self._parts.pop(order_id, 1)
            px = Decimal(order["limit_price"] or self.prices[order["symbol"]])
            batch: list[dict[str, Any]] = []
            for i in range(parts):
                left = Decimal(order["qty"]) - Decimal(order["filled_qty"])
                qty = left if i == parts - 1 else (left / (parts - i)).quantize(Decimal(1))
                self._fill(order, qty, px, batch)
        self.stream.publish(batch)

    def originate(self, side: str, qty: Decimal, symbol: str) -> str:
        """An order placed from Alpaca's own dashboard: a market order, filled at once."""
        with self.lock:
            self._desk += 1
            cid = f"desk-{self._desk}"
            batch: list[dict[str, Any]] = []
            self._create(
                {
                    "symbol": symbol,
                    "qty": str(qty),
                    "side": side,
                    "type": "market",
                    "time_in_force": "day",
                    "client_order_id": cid,
                },
                batch,
            )
        self.stream.publish(batch)
        return cid

    # ------------------------------------------------------------ book keeping
    def _event(
        self, batch: list[dict[str, Any]], event: str, order: dict[str, Any], **extra: Any
    ) -> None:
        data = {"event": event, "timestamp": _now(), "order": dict(order), **extra}
        batch.append({"stream": "trade_updates", "data": data})

    def _create(self, body: dict[str, Any], batch: list[dict[str, Any]]) -> dict[str, Any]:
        now = _now()
        order_id = str(uuid.uuid4())
        kind = body.get("type") or body.get("order_type") or "market"
        order: dict[str, Any] = {
            "id": order_id,
            "client_order_id": body["client_order_id"],
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "filled_at": None,
            "expired_at": None,
            "canceled_at": None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": body.get("replaces"),
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, body["symbol"])),
            "symbol": body["symbol"],
            "asset_class": "us_equity",
            "notional": None,
            "qty": _s(Decimal(str(body["qty"]))),
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": "",
            "order_type": kind,
            "type": kind,
            "side": body["side"],
            "time_in_force": body.get("time_in_force", "day"),
            "limit_price": _s(
                None if body.get("limit_price") is None else Decimal(str(body["limit_price"]))
            ),
            "stop_price": _s(
                None if body.get("stop_price") is None else Decimal(str(body["stop_price"]))
            ),
            "status": "new",
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "position_intent": None,
        }
        self.orders[order_id] = order
        self.by_cid[order["client_order_id"]] = order_id
        self._event(batch, "new", order)
        price = self.prices.get(order["symbol"], Decimal(100))
        limit = order["limit_price"]
        marketable = limit is None or (
            Decimal(limit) >= price if order["side"] == "buy" else Decimal(limit) <= price
        )
        if kind == "market" or (kind == "limit" and marketable):
            self._fill(
                order, Decimal(order["qty"]), price if kind == "market" else Decimal(limit), batch
            )
        return order

    def _fill(
        self, order: dict[str, Any], qty: Decimal, px: Decimal, batch: list[dict[str, Any]]
    ) -> None:
        before = Decimal(order["filled_qty"])
        cum = before + qty
        avg_before = Decimal(order["filled_avg_price"] or 0)
        avg = (avg_before * before + px * qty) / cum
        now = _now()
        order.update(filled_qty=_s(cum), filled_avg_price=_s(avg), updated_at=now)
        done = cum == Decimal(order["qty"])
        order["status"] = "filled" if done else "partially_filled"
        if done:
            order["filled_at"] = now
        sign = 1 if order["side"] == "buy" else -1
        held = self.positions.setdefault(order["symbol"], [Decimal(0), Decimal(0)])
        new_qty = held[0] + sign * qty
        if held[0] == 0 or ((held[0] > 0) != (new_qty > 0) and new_qty != 0):
            held[1] = px
        elif abs(new_qty) > abs(held[0]):
            held[1] = (abs(held[0]) * held[1] + qty * px) / abs(new_qty)
        held[0] = new_qty
        self.cash -= sign * qty * px
        self._seq += 1
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")[:17]
        self.activities.append(
            {
                "id": f"{stamp}{self._seq:06d}::{uuid.uuid4()}",
                "activity_type": "FILL",
                "transaction_time": now,
                "type": "fill" if done else "partial_fill",
                "price": _s(px),
                "qty": _s(qty),
                "side": order["side"],
                "symbol": order["symbol"],
                "leaves_qty": _s(Decimal(order["qty"]) - cum),
                "order_id": order["id"],
                "cum_qty": _s(cum),
                "order_status": order["status"],
            }
        )
        self._event(
            batch,
            "fill" if done else "partial_fill",
            order,
            execution_id=str(uuid.uuid4()),
            price=_s(px),
            qty=_s(qty),
            position_qty=_s(held[0]),
        )

    def visible(self, order: dict[str, Any]) -> bool:
        return self._hidden.get(order["id"], 0) <= time.monotonic()

    # ------------------------------------------------------------ REST
    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        with self.lock:
            now = time.monotonic()
            self.requests.append((now, method, path))
            if self.limit is not None:
                count, window = self.limit
                recent = sum(1 for t, _, _ in self.requests if now - t < window)
                if recent > count:
                    self.throttled += 1
                    return 429, {"code": 42910000, "message": "rate limit exceeded"}
            batch: list[dict[str, Any]] = []
            answer = self._route(method, path, query, body, batch)
        self.stream.publish(batch)
        return answer

    def _route(
        self, method: str, path: str, q: dict[str, str], body: Any, batch: list[dict[str, Any]]
    ) -> tuple[int, Any]:
        if method == "POST" and path == "/v2/orders":
            return self._submit(body, batch)
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            oid = self.by_cid.get(q.get("client_order_id", ""))
            if oid is None or not self.visible(self.orders[oid]):
                return 404, {"code": 40410000, "message": "order not found"}
            return 200, self.orders[oid]
        if method == "GET" and path == "/v2/orders":
            status = q.get("status", "open")
            rows = [o for o in self.orders.values() if self.visible(o)]
            final = ("filled", "canceled", "expired", "rejected", "replaced")
            if status == "open":
                rows = [o for o in rows if o["status"] not in final]
            elif status == "closed":
                rows = [o for o in rows if o["status"] in final]
            rows.sort(key=lambda o: o["submitted_at"], reverse=True)
            return 200, rows[: int(q.get("limit", 50))]
        if path.startswith("/v2/orders/"):
            oid = path.removeprefix("/v2/orders/")
            order = self.orders.get(oid)
            if order is None or not self.visible(order):
                return 404, {"code": 40410000, "message": "order not found"}
            if method == "GET":
                return 200, order
            if method == "DELETE":
                return self._cancel(order, batch)
            if method == "PATCH":
                return self._replace(order, body, batch)
        if method == "GET" and path == "/v2/positions":
            return 200, [
                {
                    "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, s)),
                    "symbol": s,
                    "exchange": "NASDAQ",
                    "asset_class": "us_equity",
                    "qty": _s(abs(q_)),
                    "avg_entry_price": _s(avg),
                    "side": "long" if q_ > 0 else "short",
                    "market_value": _s(q_ * self.prices.get(s, avg)),
                }
                for s, (q_, avg) in self.positions.items()
                if q_ != 0
            ]
        if method == "GET" and path == "/v2/account":
            equity = self.cash + sum(
                (q_ * self.prices.get(s, avg) for s, (q_, avg) in self.positions.items()),
                Decimal(0),
            )
            return 200, {
                "id": ACCOUNT_ID,
                "account_number": ACCOUNT_NUMBER,
                "status": "ACTIVE",
                "currency": "USD",
                "cash": _s(self.cash),
                "buying_power": _s(self.cash * 2),
                "equity": _s(equity),
                "portfolio_value": _s(equity),
                "pattern_day_trader": False,
                "trading_blocked": False,
                "created_at": "2024-01-02T00:00:00Z",
            }
        if method == "GET" and path == "/v2/account/activities/FILL":
            rows = list(self.activities)
            if "after" in q:
                rows = [a for a in rows if a["transaction_time"] > q["after"]]
            if "page_token" in q:
                rows = [a for a in rows if a["id"] > q["page_token"]]
            return 200, rows[: int(q.get("page_size", 100))]
        if method == "GET" and path == "/v2/stocks/quotes/latest":
            quotes = {}
            for s in q.get("symbols", "").split(","):
                if s in self.prices:
                    p = self.prices[s]
                    quotes[s] = {
                        "ap": float(p + Decimal("0.05")),
                        "as": 3,
                        "ax": "V",
                        "bp": float(p - Decimal("0.05")),
                        "bs": 2,
                        "bx": "V",
                        "c": ["R"],
                        "t": _now(),
                        "z": "C",
                    }
            return 200, {"quotes": quotes}
        return 404, {"code": 40410000, "message": f"no route {method} {path}"}

    def _submit(self, body: dict[str, Any], batch: list[dict[str, Any]]) -> tuple[int, Any]:
        fault = self._armed.pop(0) if self._armed else ""
        if fault in ("429", "503"):
            return int(fault), {"code": 0, "message": "try again later"}
        cid = body.get("client_order_id") or str(uuid.uuid4())
        body["client_order_id"] = cid
        if cid in self.by_cid:
            return 422, _UNIQUE
        if fault == "reject":
            return 403, {"code": 40310000, "message": "insufficient buying power"}
        order = self._create(body, batch)
        if fault.startswith("hide="):
            self._hidden[order["id"]] = time.monotonic() + float(fault.split("=")[1])
        if fault.startswith("parts="):
            self._parts[order["id"]] = int(fault.split("=")[1])
        if fault == "race":
            self._race.add(order["id"])
        if fault == "drop_reply":
            return -1, None
        if fault == "504_after":
            return 504, "<html><body><h1>504 Gateway Time-out</h1></body></html>"
        return 200, order

    def _cancel(self, order: dict[str, Any], batch: list[dict[str, Any]]) -> tuple[int, Any]:
        if order["status"] in ("filled", "canceled", "expired", "rejected", "replaced"):
            return 422, {
                "code": 42210000,
                "message": f"order is not cancelable (status {order['status']})",
            }
        order["updated_at"] = _now()
        if order["id"] in self._race:
            order["status"] = "pending_cancel"
            self._event(batch, "pending_cancel", order)
        else:
            order.update(status="canceled", canceled_at=_now())
            self._event(batch, "canceled", order)
        return 204, None

    def _replace(
        self, order: dict[str, Any], body: dict[str, Any], batch: list[dict[str, Any]]
    ) -> tuple[int, Any]:
        if order["status"] not in ("new", "accepted", "partially_filled"):
            return 422, {"code": 42210000, "message": "order is not replaceable"}
        cid = body.get("client_order_id") or str(uuid.uuid4())
        if cid in self.by_cid:
            return 422, _UNIQUE
        terms = {
            k: order[k]
            for k in ("symbol", "side", "type", "time_in_force", "limit_price", "stop_price")
        }
        terms["qty"] = str(Decimal(order["qty"]) - Decimal(order["filled_qty"]))
        terms.update({k: v for k, v in body.items() if v is not None and k != "client_order_id"})
        terms["client_order_id"] = cid
        terms["replaces"] = order["id"]
        new_batch: list[dict[str, Any]] = []
        new = self._create(terms, new_batch)
        order.update(
            status="replaced", replaced_by=new["id"], replaced_at=_now(), updated_at=_now()
        )
        new["status"] = new["status"] if new["status"] != "new" else "new"
        self._event(batch, "replaced", order)
        batch.extend(new_batch)
        return 200, new


class _Hub(LoopbackWebsocket):
    """The ``trade_updates`` websocket: its own asyncio loop on a thread."""

    path = "/stream"

    def __init__(self, fake: FakeAlpaca) -> None:
        super().__init__(thread_name="fake-alpaca-ws")
        self.fake = fake
        self.sent = 0
        self.listen_delay_s = 0.0

    def _gate(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.down:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "stream down\n")
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        auth = json.loads(await ws.recv())
        data = auth.get("data", {})
        ok = data.get("key_id") == self.fake.key and data.get("secret_key") == self.fake.secret
        await ws.send(
            json.dumps(
                {
                    "stream": "authorization",
                    "data": {
                        "action": "authenticate",
                        "status": "authorized" if ok else "unauthorized",
                    },
                }
            )
        )
        if not ok:
            await ws.close()
            return
        listen = json.loads(await ws.recv())
        streams = listen.get("data", {}).get("streams", [])
        await asyncio.sleep(self.listen_delay_s)  # a slow subscription: nothing flows yet
        await ws.send(json.dumps({"stream": "listening", "data": {"streams": streams}}))
        self.clients.add(ws)
        try:
            if self.down:  # cut while this one was logging in
                await ws.close()
            await ws.wait_closed()
        finally:
            self.clients.discard(ws)

    def set_down(self, down: bool) -> None:
        async def apply() -> None:
            self.down = down
            if down:
                for ws in list(self.clients):
                    await ws.close()

        self.call(apply())

    def publish(self, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        messages = list(reversed(batch)) if self.fake.reorder else list(batch)
        if self.fake.duplicate:
            messages = [m for m in messages for _ in (0, 1)]

        async def send() -> None:
            if self.down:
                return  # lost: the stream replays nothing
            for ws in list(self.clients):
                for message in messages:
                    try:
                        await ws.send(json.dumps(message))
                        self.sent += 1
                    except Exception:
                        break

        self.call(send())


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed mid-request (the crash sweep) resets its socket: expected


def _handler(fake: FakeAlpaca) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _do(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            if (self.headers.get("APCA-API-KEY-ID"), self.headers.get("APCA-API-SECRET-KEY")) != (
                fake.key,
                fake.secret,
            ):
                status, answer = 401, {"code": 40110000, "message": "request is not authorized"}
            else:
                status, answer = fake.handle(self.command, parts.path, query, body)
            if status == -1:  # the reply is lost: close the socket unanswered
                self.close_connection = True
                return
            payload = (
                b""
                if answer is None
                else (answer.encode() if isinstance(answer, str) else json.dumps(answer).encode())
            )
            self.send_response(status)
            self.send_header(
                "Content-Type", "text/html" if isinstance(answer, str) else "application/json"
            )
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _do

    return Handler
