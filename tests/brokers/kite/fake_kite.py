"""A fake of the Kite Connect v3 REST API on 127.0.0.1, for the real ``kiteconnect``.

It speaks Kite's wire format: ``Authorization: token <api_key>:<access_token>``, form
bodies, the ``{"status": "success", "data": …}`` envelope, errors as ``{"status":
"error", "message", "error_type"}`` with Kite's HTTP codes (400 Input/Margin, 403 Token,
429, 503 Network), JSON numbers as floats, IST timestamps ``YYYY-MM-DD HH:MM:SS``, the
instrument list as CSV. It keeps an order book (per day: nothing older), a trade book,
net positions and the equity margin.

Knobs (each applies to the next order placed unless said otherwise): ``lose_next_reply``
(placed, the answer never sent), ``refuse_next`` (429, nothing done), ``hide_next(s)``
(not in the books for ``s`` seconds), ``book_lag_s`` (every order, a lagging book),
``arm_parts(n)``, ``arm_reject(reason)`` (a MarginException), ``arm_async_reject``
(placed, then REJECTED by the RMS), ``arm_cancel_race`` (a cancel leaves it CANCEL
PENDING and the next trade fills it), ``fail_reads(n)`` (503 on the next n book reads),
``expire_token()``, ``originate`` (an order from Kite's own screens), ``square_off()``
(the MIS auto square-off: RMS orders, no tag). ``ticker`` (a ``FakeTicker``) is told
of every order change, as Kite's websocket pushes it. ``placements`` records every accepted
and refused placement time, for rate-limit measurements.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
_ENTRY = ("PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING")


class KiteError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


@dataclass
class Instrument:
    exchange: str
    tradingsymbol: str
    ltp: Decimal
    tick: Decimal = Decimal("0.05")
    lot: int = 1
    token: int = 0


@dataclass
class _Order:
    row: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    visible_at: float = 0.0
    parts: int = 1
    race: bool = False


def _now_text() -> str:
    return datetime.now(IST).strftime("%Y-%m-%d %H:%M:%S")


def _num(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


class FakeKite:
    """The broker's state and knobs; :meth:`start` serves it on 127.0.0.1."""

    def __init__(
        self,
        *,
        api_key: str = "fakeapikey01",
        access_token: str = "faketoken0001",
        api_secret: str = "fakesecret01",
        user_id: str = "ZX1234",
        cash: Decimal = Decimal("1000000"),
    ) -> None:
        self.api_key, self.api_secret, self.user_id = api_key, api_secret, user_id
        self.tokens = {access_token}
        self.lock = threading.RLock()
        self.instruments: dict[str, Instrument] = {}
        self.orders: dict[str, _Order] = {}
        self.trades: list[dict[str, Any]] = []
        self.opening_cash = cash
        self.cash = cash
        self.positions: dict[tuple[str, str, str], tuple[Decimal, Decimal]] = {}
        self._ids = itertools.count(250101000000001)
        self._trade_ids = itertools.count(1)
        self.placements: list[tuple[float, int]] = []  # (monotonic time, HTTP status)
        self.requests: list[tuple[str, str, str]] = []  # (method, path, authorization)
        self.book_lag_s = 0.0
        self.postback_url: str | None = None
        #: the websocket fake (``fake_ticker.FakeTicker``), told of every order change
        self.ticker: Any = None
        self._lose = self._refuse = self._fail_reads = 0
        self._hide: float | None = None
        self._parts = 1
        self._reject: str | None = None
        self._async_reject: str | None = None
        self._race = False
        self.server: ThreadingHTTPServer | None = None

    # ---------------------------------------------------------------- knobs

    def add_instrument(self, symbol: str, ltp: str, *, tick: str = "0.05", lot: int = 1) -> None:
        exchange, _, tradingsymbol = symbol.partition(":")
        self.instruments[symbol] = Instrument(
            exchange, tradingsymbol, Decimal(ltp), Decimal(tick), lot, len(self.instruments) + 1
        )

    def lose_next_reply(self) -> None:
        self._lose += 1

    def refuse_next(self) -> None:
        self._refuse += 1

    def hide_next(self, seconds: float) -> None:
        self._hide = seconds

    def arm_parts(self, parts: int) -> None:
        self._parts = parts

    def arm_reject(self, reason: str) -> None:
        self._reject = reason

    def arm_async_reject(self, reason: str) -> None:
        self._async_reject = reason

    def arm_cancel_race(self) -> None:
        self._race = True

    def fail_reads(self, count: int) -> None:
        self._fail_reads = count

    def expire_token(self) -> None:
        self.tokens.clear()

    def issue_token(self, token: str) -> None:
        self.tokens.add(token)

    # --------------------------------------------------------------- market

    def trade(self, order_id: str, price: Decimal | None = None) -> None:
        """The market trades a working order: all that is left, in its parts."""
        with self.lock:
            order = self.orders[order_id]
            row = order.row
            if row["status"] not in ("OPEN", "TRIGGER PENDING", "CANCEL PENDING"):
                return
            px = price or Decimal(str(row["price"] or 0)) or self._inst(row).ltp
            self._fill(order, px, order.parts)

    def originate(self, side: str, qty: int, symbol: str, *, placed_by: str = "ZX1234") -> str:
        """An order placed on Kite's own screens (no tag), filled at the market."""
        with self.lock:
            inst = self.instruments[symbol]
            order = self._new_order(
                {
                    "exchange": inst.exchange,
                    "tradingsymbol": inst.tradingsymbol,
                    "transaction_type": side,
                    "quantity": str(qty),
                    "product": "MIS",
                    "order_type": "MARKET",
                    "validity": "DAY",
                },
                variety="regular",
                placed_by=placed_by,
            )
            self._fill(order, inst.ltp, 1)
            return str(order.row["order_id"])

    def square_off(self) -> list[str]:
        """Kite's intraday auto square-off: every open MIS position closed by RMS orders."""
        made = []
        with self.lock:
            for (exchange, tradingsymbol, product), (qty, _) in list(self.positions.items()):
                if product != "MIS" or qty == 0:
                    continue
                side = "SELL" if qty > 0 else "BUY"
                made.append(
                    self.originate(
                        side, int(abs(qty)), f"{exchange}:{tradingsymbol}", placed_by="ADMINSQF"
                    )
                )
        return made

    def all_orders(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(o.row) for o in self.orders.values()]

    # ------------------------------------------------------------ internals

    def _inst(self, row: dict[str, Any]) -> Instrument:
        return self.instruments[f"{row['exchange']}:{row['tradingsymbol']}"]

    def _snapshot(self, order: _Order) -> None:
        order.row["exchange_timestamp"] = _now_text()
        order.history.append(dict(order.row))
        self._postback(order.row)
        if self.ticker is not None:
            self.ticker.publish(order.row, self.user_id)

    def _new_order(self, form: dict[str, str], *, variety: str, placed_by: str) -> _Order:
        oid = str(next(self._ids))
        qty = int(form["quantity"])
        row: dict[str, Any] = {
            "order_id": oid,
            "exchange_order_id": None,
            "parent_order_id": None,
            "placed_by": placed_by,
            "variety": variety,
            "status": _ENTRY[0],
            "status_message": None,
            "order_timestamp": _now_text(),
            "exchange_timestamp": None,
            "exchange": form["exchange"],
            "tradingsymbol": form["tradingsymbol"],
            "order_type": form["order_type"],
            "transaction_type": form["transaction_type"],
            "validity": form.get("validity", "DAY"),
            "product": form["product"],
            "quantity": qty,
            "disclosed_quantity": 0,
            "price": float(form.get("price") or 0),
            "trigger_price": float(form.get("trigger_price") or 0),
            "average_price": 0,
            "filled_quantity": 0,
            "pending_quantity": qty,
            "cancelled_quantity": 0,
            "tag": form.get("tag"),
            "tags": [form["tag"]] if form.get("tag") else [],
            "guid": f"g{oid}",
            "meta": {},
        }
        if variety == "iceberg":
            row["meta"] = {
                "iceberg": {
                    "legs": int(form["iceberg_legs"]),
                    "leg_quantity": int(form["iceberg_quantity"]),
                    "total_quantity": qty,
                }
            }
        order = _Order(row=row, visible_at=time.monotonic() + self.book_lag_s)
        for status in _ENTRY:
            row["status"] = status
            order.history.append(dict(row))
        row["status"] = "OPEN"
        row["exchange_order_id"] = f"X{oid}"
        self.orders[oid] = order
        self._snapshot(order)
        return order

    #: seconds between the parts of an order that fills in parts
    part_gap_s = 0.3

    def _fill(self, order: _Order, px: Decimal, parts: int) -> None:
        """Fill what is left in ``parts`` trades: the first now, each next one a gap later."""
        row = order.row
        left = int(row["pending_quantity"])
        sizes = [
            s for s in (left // parts + (1 if i < left % parts else 0) for i in range(parts)) if s
        ]
        if not sizes:
            return
        self._fill_part(order, px, sizes[0])
        rest = sizes[1:]
        if rest:

            def later() -> None:
                for size in rest:
                    time.sleep(self.part_gap_s)
                    with self.lock:
                        if order.row["status"] in ("OPEN", "CANCEL PENDING"):
                            self._fill_part(order, px, size)

            threading.Thread(target=later, daemon=True).start()

    def _fill_part(self, order: _Order, px: Decimal, size: int) -> None:
        row = order.row
        filled = int(row["filled_quantity"]) + size
        avg = Decimal(str(row["average_price"]))
        new_avg = (avg * (filled - size) + px * size) / filled
        row.update(
            filled_quantity=filled,
            pending_quantity=int(row["quantity"]) - filled,
            average_price=float(new_avg),
            status="COMPLETE" if filled == int(row["quantity"]) else "OPEN",
        )
        self.trades.append(
            {
                "trade_id": f"{next(self._trade_ids):08d}",
                "order_id": row["order_id"],
                "exchange_order_id": row["exchange_order_id"],
                "exchange": row["exchange"],
                "tradingsymbol": row["tradingsymbol"],
                "instrument_token": self._inst(row).token,
                "product": row["product"],
                "average_price": _num(px),
                "quantity": size,
                "transaction_type": row["transaction_type"],
                "fill_timestamp": _now_text(),
                "order_timestamp": row["order_timestamp"],
                "exchange_timestamp": _now_text(),
            }
        )
        self._book_position(row, Decimal(size), px)
        self._snapshot(order)

    def _book_position(self, row: dict[str, Any], size: Decimal, px: Decimal) -> None:
        key = (row["exchange"], row["tradingsymbol"], row["product"])
        signed = size if row["transaction_type"] == "BUY" else -size
        self.cash -= signed * px
        qty, avg = self.positions.get(key, (Decimal(0), Decimal(0)))
        new = qty + signed
        if new == 0:
            avg = Decimal(0)
        elif qty == 0 or (qty > 0) != (new > 0):
            avg = px
        elif abs(new) > abs(qty):
            avg = (avg * abs(qty) + px * size) / abs(new)
        self.positions[key] = (new, avg)

    def _postback(self, row: dict[str, Any]) -> None:
        url = self.postback_url
        if url is None:
            return
        payload = dict(row)
        payload["checksum"] = hashlib.sha256(
            (str(row["order_id"]) + str(row["order_timestamp"]) + self.api_secret).encode()
        ).hexdigest()
        payload["user_id"] = self.user_id
        body = json.dumps(payload).encode()

        def send() -> None:
            request = urllib.request.Request(
                url, data=body, headers={"Content-Type": "application/json"}
            )
            with contextlib.suppress(OSError):
                urllib.request.urlopen(request, timeout=5).read()

        threading.Thread(target=send, daemon=True).start()

    def _visible(self) -> list[_Order]:
        now = time.monotonic()
        return [o for o in self.orders.values() if o.visible_at <= now]

    # ------------------------------------------------------------ the API

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], form: dict[str, str]
    ) -> Any:
        parts = [p for p in path.split("/") if p]
        with self.lock:
            if method == "GET" and parts in (["orders"], ["trades"]) and self._fail_reads:
                self._fail_reads -= 1
                raise KiteError(503, "NetworkException", "Gateway timed out")
            if method == "POST" and len(parts) == 2 and parts[0] == "orders":
                return self._place(parts[1], form)
            if method == "GET" and parts == ["orders"]:
                return [dict(o.row) for o in self._visible()]
            if method == "GET" and parts == ["trades"]:
                visible = {o.row["order_id"] for o in self._visible()}
                return [t for t in self.trades if t["order_id"] in visible]
            if method == "GET" and len(parts) == 2 and parts[0] == "orders":
                return [dict(h) for h in self._get(parts[1]).history]
            if method == "GET" and len(parts) == 3 and parts[2] == "trades":
                oid = self._get(parts[1]).row["order_id"]
                return [t for t in self.trades if t["order_id"] == oid]
            if method == "DELETE" and len(parts) == 3 and parts[0] == "orders":
                return self._cancel(parts[2])
            if method == "PUT" and len(parts) == 3 and parts[0] == "orders":
                return self._modify(parts[2], form)
            if method == "GET" and parts == ["portfolio", "positions"]:
                return self._positions()
            if method == "GET" and parts == ["user", "margins"]:
                return {
                    "equity": {
                        "enabled": True,
                        "net": float(self.cash),
                        "available": {
                            "cash": float(self.opening_cash),
                            "live_balance": float(self.cash),
                            "opening_balance": float(self.opening_cash),
                        },
                        "utilised": {},
                    },
                    "commodity": {"enabled": False, "net": 0, "available": {}, "utilised": {}},
                }
            if method == "GET" and parts == ["user", "profile"]:
                return {"user_id": self.user_id, "user_name": "Fake Trader", "broker": "ZERODHA"}
            if method == "GET" and parts in (["quote"], ["quote", "ltp"]):
                return self._quote(query.get("i", []), full=parts == ["quote"])
        raise KiteError(404, "GeneralException", f"Route not found: {method} {path}")

    def _get(self, oid: str) -> _Order:
        order = self.orders.get(oid)
        if order is None or order.visible_at > time.monotonic():
            raise KiteError(400, "InputException", "Couldn't find that `order_id`.")
        return order

    def _place(self, variety: str, form: dict[str, str]) -> dict[str, str]:
        at = time.monotonic()
        if self._refuse:
            self._refuse -= 1
            self.placements.append((at, 429))
            raise KiteError(429, "NetworkException", "Too many requests")
        key = f"{form.get('exchange')}:{form.get('tradingsymbol')}"
        inst = self.instruments.get(key)
        if inst is None:
            raise KiteError(400, "InputException", f"Invalid `tradingsymbol` {key}")
        qty = int(form["quantity"])
        if qty % inst.lot:
            raise KiteError(
                400, "InputException", f"Quantity should be a multiple of lot size {inst.lot}"
            )
        tag = form.get("tag")
        if tag is not None and (len(tag) > 20 or not tag.isalnum()):
            raise KiteError(400, "InputException", "Tag length should be less than 20 characters")
        if form.get("product") == "CNC" and inst.exchange not in ("NSE", "BSE"):
            raise KiteError(400, "InputException", "Product type CNC is not allowed here")
        if variety == "iceberg" and not (form.get("iceberg_legs") and form.get("iceberg_quantity")):
            raise KiteError(400, "InputException", "`iceberg_legs` and `iceberg_quantity` required")
        if variety not in ("regular", "amo", "co", "iceberg", "auction"):
            raise KiteError(400, "InputException", f"Invalid variety `{variety}`")
        price = Decimal(form.get("price") or "0")
        if price and price % inst.tick:
            raise KiteError(400, "InputException", f"Tick size for this script is {inst.tick}")
        if self._reject is not None:
            reason, self._reject = self._reject, None
            self.placements.append((at, 400))
            raise KiteError(400, "MarginException", reason)
        self.placements.append((at, 200))
        order = self._new_order(form, variety=variety, placed_by=self.user_id)
        if self._hide is not None:
            order.visible_at = time.monotonic() + self._hide
            self._hide = None
        order.parts, self._parts = self._parts, 1
        order.race, self._race = self._race, False
        if self._async_reject is not None:
            order.row.update(
                status="REJECTED", status_message=self._async_reject, pending_quantity=0
            )
            self._async_reject = None
            self._snapshot(order)
        elif form["order_type"] == "MARKET":
            self._fill(order, inst.ltp, order.parts)
        elif form["order_type"] == "LIMIT":
            crosses = price >= inst.ltp if form["transaction_type"] == "BUY" else price <= inst.ltp
            if crosses:
                self._fill(order, inst.ltp, order.parts)
        return {"order_id": order.row["order_id"]}

    def _cancel(self, oid: str) -> dict[str, str]:
        order = self._get(oid)
        row = order.row
        if row["status"] in ("COMPLETE", "CANCELLED", "REJECTED"):
            raise KiteError(
                400, "InputException", f"Order cannot be cancelled as it is {row['status']}"
            )
        if order.race:
            row["status"] = "CANCEL PENDING"
        else:
            row.update(
                status="CANCELLED",
                cancelled_quantity=row["pending_quantity"],
                pending_quantity=0,
            )
        self._snapshot(order)
        return {"order_id": oid}

    def _modify(self, oid: str, form: dict[str, str]) -> dict[str, str]:
        order = self._get(oid)
        row = order.row
        if row["status"] not in ("OPEN", "TRIGGER PENDING"):
            raise KiteError(400, "InputException", "Order cannot be modified")
        if "price" in form:
            row["price"] = float(form["price"])
        if "quantity" in form:
            row["quantity"] = int(form["quantity"])
            row["pending_quantity"] = row["quantity"] - row["filled_quantity"]
        self._snapshot(order)
        return {"order_id": oid}

    def _positions(self) -> dict[str, list[dict[str, Any]]]:
        net = []
        for (exchange, tradingsymbol, product), (qty, avg) in self.positions.items():
            net.append(
                {
                    "tradingsymbol": tradingsymbol,
                    "exchange": exchange,
                    "product": product,
                    "quantity": int(qty),
                    "average_price": _num(avg) if qty else 0,
                    "last_price": float(self.instruments[f"{exchange}:{tradingsymbol}"].ltp),
                }
            )
        return {"net": net, "day": net}

    def _quote(self, keys: list[str], *, full: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in keys:
            inst = self.instruments.get(key)
            if inst is None:
                continue
            row: dict[str, Any] = {"instrument_token": inst.token, "last_price": float(inst.ltp)}
            if full:
                row["timestamp"] = _now_text()
                row["depth"] = {
                    "buy": [{"price": float(inst.ltp - inst.tick), "quantity": 10, "orders": 1}],
                    "sell": [{"price": float(inst.ltp + inst.tick), "quantity": 10, "orders": 1}],
                }
            out[key] = row
        return out

    def instruments_csv(self, exchange: str | None) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
                "instrument_token",
                "exchange_token",
                "tradingsymbol",
                "name",
                "last_price",
                "expiry",
                "strike",
                "tick_size",
                "lot_size",
                "instrument_type",
                "segment",
                "exchange",
            ]
        )
        for inst in self.instruments.values():
            if exchange and inst.exchange != exchange:
                continue
            writer.writerow(
                [
                    inst.token,
                    inst.token,
                    inst.tradingsymbol,
                    inst.tradingsymbol,
                    str(inst.ltp),
                    "",
                    "0",
                    str(inst.tick),
                    inst.lot,
                    "EQ" if inst.lot == 1 else "FUT",
                    inst.exchange,
                    inst.exchange,
                ]
            )
        return buffer.getvalue()

    # -------------------------------------------------------------- serving

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                form = {k: v[-1] for k, v in parse_qs(raw).items()}
                query = parse_qs(parts.query)
                auth = self.headers.get("Authorization") or ""
                fake.requests.append((self.command, parts.path, auth))
                try:
                    if auth.removeprefix("token ").split(":", 1) not in (
                        [fake.api_key, t] for t in list(fake.tokens)
                    ):
                        raise KiteError(
                            403, "TokenException", "Incorrect `api_key` or `access_token`."
                        )
                    segs = [p for p in parts.path.split("/") if p]
                    if self.command == "GET" and segs[:1] == ["instruments"]:
                        text = fake.instruments_csv(segs[1] if len(segs) > 1 else None)
                        self._answer(200, text.encode(), "text/csv")
                        return
                    lose = self.command == "POST" and fake._lose > 0
                    data = fake.handle(self.command, parts.path, query, form)
                    if lose:
                        fake._lose -= 1
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    body = json.dumps({"status": "success", "data": data}).encode()
                    self._answer(200, body, "application/json")
                except KiteError as exc:
                    body = json.dumps(
                        {
                            "status": "error",
                            "message": exc.message,
                            "error_type": exc.error_type,
                            "data": None,
                        }
                    ).encode()
                    self._answer(exc.status, body, "application/json")

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that died mid-request (the crash sweep) is not news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
