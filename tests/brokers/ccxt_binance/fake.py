# ruff: noqa: E501  (Binance's documented shapes, kept one object per line)
"""A fake Binance spot REST API on 127.0.0.1 (``/api/v3/...``), answering with
Binance's documented shapes, checking the HMAC signature and the API key header.

Market: ``BTC/USDT`` (tick 0.01, lot 0.00001, min notional 5) at :attr:`prices`; a
limit order rests until :meth:`trade`. A client order id is refused (-2010
"Duplicate order sent.") only while an order under it is open, as Binance does.

Faults for the next order (:meth:`arm`): ``drop_reply`` (taken, socket closed
unanswered), ``-1007`` (taken, answered "send status unknown"), ``429`` (refused
untaken), ``reject`` (-2010 insufficient balance), ``hide=<s>`` (invisible to
look-ups for s seconds), ``parts=<n>`` (a trade fills it in n parts, ``part_gap_s``
apart), ``race`` (a cancel goes PENDING_CANCEL and the fill still comes).
``fee_asset`` picks the asset fees are charged in: ``USDT`` (quote), ``BTC`` (base)
or ``BNB`` (a third asset, at :attr:`bnb_price`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

UID = 354937868
FEE_RATE = Decimal("0.001")
_FINAL = ("FILLED", "CANCELED", "EXPIRED", "REJECTED")
SYMBOL_INFO = {
    "symbol": "BTCUSDT",
    "status": "TRADING",
    "baseAsset": "BTC",
    "baseAssetPrecision": 8,
    "quoteAsset": "USDT",
    "quotePrecision": 8,
    "quoteAssetPrecision": 8,
    "baseCommissionPrecision": 8,
    "quoteCommissionPrecision": 8,
    "orderTypes": [
        "LIMIT",
        "LIMIT_MAKER",
        "MARKET",
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
    ],
    "icebergAllowed": True,
    "ocoAllowed": True,
    "otoAllowed": True,
    "quoteOrderQtyMarketAllowed": True,
    "allowTrailingStop": True,
    "cancelReplaceAllowed": True,
    "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": False,
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.01000000",
            "maxPrice": "1000000.00000000",
            "tickSize": "0.01000000",
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": "0.00001000",
            "maxQty": "9000.00000000",
            "stepSize": "0.00001000",
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": "5.00000000",
            "applyMinToMarket": True,
            "maxNotional": "9000000.00000000",
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
    ],
    "permissions": [],
    "permissionSets": [["SPOT"]],
    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
    "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
}


def _s(value: Decimal) -> str:
    return f"{value:.8f}"


def _ms() -> int:
    return int(time.time() * 1000)


class FakeBinance:
    def __init__(self, key: str, secret: str) -> None:
        self.key, self.secret = key, secret
        self.lock = threading.RLock()
        self.orders: dict[int, dict[str, Any]] = {}
        self.trades: list[dict[str, Any]] = []
        self.balances: dict[str, Decimal] = {
            "USDT": Decimal(1_000_000),
            "BTC": Decimal(0),
            "BNB": Decimal(10),
        }
        self.locked: dict[str, Decimal] = {}
        self.prices = {"BTCUSDT": Decimal(100)}
        self.bnb_price = Decimal(400)
        self.fee_asset = "USDT"
        self.part_gap_s = 2.0  # longer than a poll cycle under ccxt's limiter (myTrades ~1 s)
        self.requests: deque[tuple[float, str, str]] = deque()
        self.report_uid = True
        self._armed: list[str] = []
        self._hidden: dict[int, float] = {}
        self._parts: dict[int, int] = {}
        self._race: set[int] = set()
        self._next_order = 1000
        self._next_trade = 5000
        self.http = _Server(("127.0.0.1", 0), _handler(self))
        self.http.daemon_threads = True
        self._thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def start(self) -> FakeBinance:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    def arm(self, fault: str) -> None:
        with self.lock:
            self._armed.append(fault)

    def orders_for(self, cid: str) -> list[dict[str, Any]]:
        with self.lock:
            return [o for o in self.orders.values() if o["clientOrderId"] == cid]

    def max_in_window(self, window: float) -> int:
        with self.lock:
            times = [t for t, _, _ in self.requests]
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def posts(self) -> int:
        return sum(1 for _, m, p in self.requests if (m, p) == ("POST", "/api/v3/order"))

    # ------------------------------------------------------------ the market
    def trade(self, cid: str) -> None:
        with self.lock:
            [order] = [o for o in self.orders_for(cid) if o["status"] not in _FINAL]
            parts = self._parts.pop(order["orderId"], 1)
        for i in range(parts):
            with self.lock:
                left = Decimal(order["origQty"]) - Decimal(order["executedQty"])
                qty = left if i == parts - 1 else (left / (parts - i)).quantize(Decimal("0.00001"))
                px = Decimal(order["price"]) or Decimal(order["stopPrice"])
                self._fill(order, qty, px)
            if i < parts - 1:
                time.sleep(self.part_gap_s)

    def originate(self, side: str, qty: Decimal) -> str:
        with self.lock:
            cid = f"web_{self._next_order}"
            self._create(
                {
                    "symbol": "BTCUSDT",
                    "side": side,
                    "type": "MARKET",
                    "quantity": str(qty),
                    "newClientOrderId": cid,
                }
            )
        return cid

    def _create(self, p: dict[str, str]) -> dict[str, Any]:
        self._next_order += 1
        now = _ms()
        order: dict[str, Any] = {
            "symbol": p["symbol"],
            "orderId": self._next_order,
            "orderListId": -1,
            "clientOrderId": p.get("newClientOrderId") or f"x-{self._next_order}",
            "price": _s(Decimal(p.get("price", "0"))),
            "origQty": _s(Decimal(p["quantity"])),
            "executedQty": _s(Decimal(0)),
            "cummulativeQuoteQty": _s(Decimal(0)),
            "status": "NEW",
            "timeInForce": p.get("timeInForce", "GTC"),
            "type": p["type"],
            "side": p["side"],
            "stopPrice": _s(Decimal(p.get("stopPrice", "0"))),
            "icebergQty": _s(Decimal(0)),
            "time": now,
            "updateTime": now,
            "isWorking": True,
            "workingTime": now,
            "origQuoteOrderQty": _s(Decimal(0)),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        self.orders[order["orderId"]] = order
        market = self.prices[p["symbol"]]
        price = Decimal(order["price"])
        if p["type"] in ("STOP_LOSS", "STOP_LOSS_LIMIT"):
            return order  # rests until the market reaches its stop (:meth:`trade`)
        if p["type"] == "MARKET":
            self._fill(order, Decimal(order["origQty"]), market)
        elif (p["side"] == "BUY" and price >= market) or (p["side"] == "SELL" and price <= market):
            self._fill(order, Decimal(order["origQty"]), price)
        return order

    def _fill(self, order: dict[str, Any], qty: Decimal, px: Decimal) -> None:
        cum = Decimal(order["executedQty"]) + qty
        order["executedQty"] = _s(cum)
        order["cummulativeQuoteQty"] = _s(Decimal(order["cummulativeQuoteQty"]) + qty * px)
        order["status"] = "FILLED" if cum == Decimal(order["origQty"]) else "PARTIALLY_FILLED"
        order["updateTime"] = _ms()
        buy = order["side"] == "BUY"
        notional = qty * px
        if self.fee_asset == "USDT":
            fee = (notional * FEE_RATE).quantize(Decimal("0.00000001"))
        elif self.fee_asset == "BTC":
            fee = (qty * FEE_RATE).quantize(Decimal("0.00000001"))
        else:
            fee = (notional * FEE_RATE / self.bnb_price).quantize(Decimal("0.00000001"))
        self.balances["BTC"] += qty if buy else -qty
        self.balances["USDT"] += -notional if buy else notional
        self.balances[self.fee_asset] -= fee
        self._next_trade += 1
        self.trades.append(
            {
                "symbol": order["symbol"],
                "id": self._next_trade,
                "orderId": order["orderId"],
                "orderListId": -1,
                "price": _s(px),
                "qty": _s(qty),
                "quoteQty": _s(notional),
                "commission": _s(fee),
                "commissionAsset": self.fee_asset,
                "time": _ms(),
                "isBuyer": buy,
                "isMaker": order["type"] == "LIMIT",
                "isBestMatch": True,
            }
        )

    def _visible(self, order: dict[str, Any]) -> bool:
        return self._hidden.get(order["orderId"], 0) <= time.monotonic()

    # ------------------------------------------------------------ REST
    def handle(self, method: str, path: str, p: dict[str, str]) -> tuple[int, Any]:
        with self.lock:
            self.requests.append((time.monotonic(), method, path))
            return self._route(method, path, p)

    def _order_of(self, p: dict[str, str]) -> dict[str, Any] | None:
        if "orderId" in p:
            order = self.orders.get(int(p["orderId"]))
        else:
            cid = p.get("origClientOrderId")
            found = [o for o in self.orders.values() if o["clientOrderId"] == cid]
            order = found[-1] if found else None
        return order if order is not None and self._visible(order) else None

    def _route(self, method: str, path: str, p: dict[str, str]) -> tuple[int, Any]:
        if path == "/api/v3/exchangeInfo":
            return 200, {
                "timezone": "UTC",
                "serverTime": _ms(),
                "rateLimits": [],
                "exchangeFilters": [],
                "symbols": [SYMBOL_INFO],
            }
        if path == "/api/v3/time":
            return 200, {"serverTime": _ms()}
        if method == "GET" and path == "/api/v3/ticker/24hr":
            return self._ticker(p.get("symbol", ""))
        if method == "POST" and path == "/api/v3/order":
            return self._submit(p)
        if method == "GET" and path == "/api/v3/order":
            order = self._order_of(p)
            return (200, order) if order else (400, {"code": -2013, "msg": "Order does not exist."})
        if method == "DELETE" and path == "/api/v3/order":
            order = self._order_of(p)
            if order is None or order["status"] in _FINAL:
                return 400, {"code": -2011, "msg": "Unknown order sent."}
            if order["orderId"] in self._race:
                order["status"] = "PENDING_CANCEL"
            else:
                order["status"] = "CANCELED"
            order["updateTime"] = _ms()
            return 200, order
        if method == "GET" and path == "/api/v3/openOrders":
            return 200, [
                o
                for o in self.orders.values()
                if o["status"] not in _FINAL
                and self._visible(o)
                and o["symbol"] == p.get("symbol", o["symbol"])
            ]
        if method == "GET" and path == "/api/v3/myTrades":
            rows = [t for t in self.trades if t["symbol"] == p["symbol"]]
            if "orderId" in p:
                rows = [t for t in rows if t["orderId"] == int(p["orderId"])]
            if "fromId" in p:
                rows = [t for t in rows if t["id"] >= int(p["fromId"])]
            return 200, rows[: int(p.get("limit", 500))]
        if method == "GET" and path == "/api/v3/account":
            body: dict[str, Any] = {
                "makerCommission": 10,
                "takerCommission": 10,
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "updateTime": _ms(),
                "accountType": "SPOT",
                "permissions": ["SPOT"],
                "balances": [
                    {"asset": a, "free": _s(v), "locked": _s(Decimal(0))}
                    for a, v in self.balances.items()
                ],
            }
            if self.report_uid:
                body["uid"] = UID
            return 200, body
        return 404, {"code": -1, "msg": f"no route {method} {path}"}

    def _ticker(self, symbol: str) -> tuple[int, Any]:
        """Binance's 24 h ticker of one symbol: last, best bid and ask."""
        price = self.prices.get(symbol)
        if price is None:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        tick = Decimal("0.01")
        now = _ms()
        return 200, {
            "symbol": symbol,
            "priceChange": "0.00",
            "priceChangePercent": "0.000",
            "weightedAvgPrice": _s(price),
            "prevClosePrice": _s(price),
            "lastPrice": _s(price),
            "lastQty": "0.01000000",
            "bidPrice": _s(price - tick),
            "bidQty": "1.00000000",
            "askPrice": _s(price + tick),
            "askQty": "1.00000000",
            "openPrice": _s(price),
            "highPrice": _s(price),
            "lowPrice": _s(price),
            "volume": "12.50000000",
            "quoteVolume": _s(price * Decimal("12.5")),
            "openTime": now - 86_400_000,
            "closeTime": now,
            "firstId": 1,
            "lastId": 2,
            "count": 2,
        }

    def _submit(self, p: dict[str, str]) -> tuple[int, Any]:
        fault = self._armed.pop(0) if self._armed else ""
        if fault == "429":
            return 429, {"code": -1003, "msg": "Too many requests; current limit is 6000."}
        cid = p.get("newClientOrderId", "")
        if any(o["status"] not in _FINAL for o in self.orders_for(cid)):
            return 400, {"code": -2010, "msg": "Duplicate order sent."}
        if fault == "reject":
            return 400, {
                "code": -2010,
                "msg": "Account has insufficient balance for requested action.",
            }
        order = self._create(p)
        oid = order["orderId"]
        if fault.startswith("hide="):
            self._hidden[oid] = time.monotonic() + float(fault.split("=")[1])
        if fault.startswith("parts="):
            self._parts[oid] = int(fault.split("=")[1])
        if fault == "race":
            self._race.add(oid)
        if fault == "drop_reply":
            return -1, None
        if fault == "-1007":
            return 408, {
                "code": -1007,
                "msg": "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
            }
        body = dict(order)
        body["transactTime"] = order["updateTime"]
        return 200, body


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed mid-request (the crash sweep) resets its socket: expected


def _handler(fake: FakeBinance) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _do(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            signed = "&".join(x for x in (parts.query, body) if x)
            params = dict(parse_qsl(signed))
            status, answer = 200, None
            if "signature" in params:
                payload, _, sig = signed.rpartition("&signature=")
                want = hmac.new(fake.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
                if self.headers.get("X-MBX-APIKEY") != fake.key:
                    status, answer = (
                        401,
                        {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
                    )
                elif sig != want:
                    status, answer = (
                        400,
                        {"code": -1022, "msg": "Signature for this request is not valid."},
                    )
            if answer is None:
                status, answer = fake.handle(self.command, parts.path, params)
            if status == -1:
                self.close_connection = True
                return
            payload_bytes = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload_bytes)))
            self.end_headers()
            self.wfile.write(payload_bytes)

        do_GET = do_POST = do_DELETE = do_PUT = _do

    return Handler


def binance_urls(root: str) -> dict[str, Any]:
    """Every one of ccxt's binance API URLs, pointed at the fake (ORDERGATE_CCXT_URLS)."""
    import ccxt

    paths = ccxt.binance().urls["api"]
    return {"api": {name: root + urlsplit(url).path for name, url in paths.items()}}
