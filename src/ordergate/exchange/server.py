"""The exchange process: the book behind a small HTTP/JSON server on loopback.

Standard library only (``http.server``), so the exchange starts anywhere ordergate
installs. One thread per connection; the book's lock serialises the venue; a report
long-poll waits on the book's condition without holding it. A scheduler thread runs
delayed, partial and late fills. See ``protocol.py`` for the routes and ``faults.py``
for the knobs.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from ordergate.domain.errors import OrderGateError
from ordergate.domain.market import Mark
from ordergate.exchange.book import ExchangeBook, Rejected
from ordergate.exchange.faults import FaultKnobs, FaultPlan
from ordergate.exchange.protocol import API, FAULT_HEADER, request_from_json

log = structlog.get_logger("ordergate.exchange")
MAX_WAIT_S = 30.0


class ExchangeServer(ThreadingHTTPServer):
    """Owns the book, the fault plan and the scheduler; ``serve_forever`` to run."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        host: str,
        port: int,
        db_path: str | Path,
        *,
        knobs: FaultKnobs | None = None,
        tick_s: float = 0.01,
    ) -> None:
        self.book = ExchangeBook(db_path)
        self.faults = FaultPlan(knobs)
        self._tick_s = tick_s
        self._stopping = threading.Event()
        super().__init__((host, port), _Handler)
        self._scheduler = threading.Thread(target=self._run_due, name="exchange-due", daemon=True)
        self._scheduler.start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def _run_due(self) -> None:
        while not self._stopping.wait(self._tick_s):
            try:
                self.book.run_due(time.time())
            except Exception:  # keep the venue alive; the next tick tries again
                log.exception("scheduled fills failed")

    def server_close(self) -> None:
        self._stopping.set()
        super().server_close()
        self.book.close()


class _Handler(BaseHTTPRequestHandler):
    server: ExchangeServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the engine's logs tell the story."""

    # ----------------------------------------------------------- plumbing

    def _reply(self, status: int, body: dict[str, Any], latency: float = 0.0) -> None:
        if latency > 0:
            time.sleep(latency)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"{}")
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data

    def _route(self) -> tuple[list[str], dict[str, list[str]]]:
        parts = urlsplit(self.path)
        if not parts.path.startswith(API + "/"):
            return [], {}
        return parts.path[len(API) + 1 :].strip("/").split("/"), parse_qs(parts.query)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            self._handle(method)
        except (ValueError, KeyError, OrderGateError) as exc:
            self._reply(400, {"error": "bad_request", "reason": str(exc)})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away: its problem, not the venue's

    # ------------------------------------------------------------- routes

    def _handle(self, method: str) -> None:
        path, query = self._route()
        book = self.server.book
        head = path[0] if path else ""
        if head == "health":
            self._reply(200, {"ok": True, "last_seq": book.last_seq})
        elif head == "faults":
            self._faults(method)
        elif head == "reports":
            self._reports(query)
        elif head == "marks" and method == "POST":
            data = self._body()
            mark = Mark.parse(str(data["symbol"]), data, datetime.now(UTC))
            self._reply(200, {"filled": book.mark(mark)})
        elif head == "marks" and len(path) == 2:
            quote = book.quote(path[1])
            if quote is None:
                self._reply(404, {"error": "not_found", "reason": f"no market in {path[1]}"})
            else:
                self._reply(200, {"mark": quote.to_dict()})
        elif head in ("orders", "positions", "account"):
            self._trading(method, path, query)
        else:
            self._reply(404, {"error": "not_found", "reason": self.path})

    def _faults(self, method: str) -> None:
        if method == "POST":
            self.server.faults.set(FaultKnobs.parse(self._body()))
        self._reply(200, {"faults": self.server.faults.knobs.to_dict()})

    def _trading(self, method: str, path: list[str], query: dict[str, list[str]]) -> None:
        book = self.server.book
        writes = method == "POST"
        # a replace is a write to a standing order, as a cancel is (the same fault knobs)
        kind = "read" if not writes else ("submit" if len(path) == 1 else "cancel")
        faults = self.server.faults.decide(kind, self.headers.get(FAULT_HEADER))
        if faults.status is not None:  # answered before anything is done
            self._reply(faults.status, {"error": "unavailable", "reason": "try again later"})
            return
        account = query.get("account", [None])[0]
        if path[0] == "positions":
            body: dict[str, Any] = {"positions": book.positions(account)}
        elif path[0] == "account":
            body = {"account": book.account(account or "default")}
        elif len(path) == 1 and not writes:
            open_only = query.get("all", ["0"])[0] != "1"
            body = {"orders": book.orders(open_only=open_only)}
        elif len(path) == 1:
            self._submit(faults)
            return
        elif writes and len(path) == 3 and path[2] == "replace":
            self._replace(path[1], faults)
            return
        else:
            cid = path[1]
            view = book.cancel(cid) if writes else book.lookup(cid)
            if view is None:
                self._reply(404, {"error": "not_found", "reason": f"no order {cid}"})
                return
            body = {"order": view}
        if faults.drop_reply:
            return  # done, but the answer is lost: the caller cannot know
        self._reply(200, body, faults.latency_s)

    def _submit(self, faults: Any) -> None:
        request = request_from_json(self._body())
        dedupe = self.server.faults.knobs.dedupe
        try:
            view, duplicate = self.server.book.submit(request, faults, dedupe=dedupe)
        except Rejected as exc:
            if not faults.drop_reply:
                body = {"error": "rejected", "reason": exc.reason, "order": exc.view}
                self._reply(422, body, faults.latency_s)
            return
        if not faults.drop_reply:
            self._reply(200, {"order": view, "duplicate": duplicate}, faults.latency_s)

    def _replace(self, client_order_id: str, faults: Any) -> None:
        data = self._body()
        try:
            view = self.server.book.replace(
                client_order_id,
                replace_id=str(data["replace_id"]),
                qty=_decimal(data.get("qty")),
                limit_price=_decimal(data.get("limit_price")),
                stop_price=_decimal(data.get("stop_price")),
            )
        except Rejected as exc:
            if not faults.drop_reply:
                body = {"error": "rejected", "reason": exc.reason, "order": exc.view}
                self._reply(422, body, faults.latency_s)
            return
        if view is None:
            self._reply(404, {"error": "not_found", "reason": f"no order {client_order_id}"})
        elif not faults.drop_reply:
            self._reply(200, {"order": view}, faults.latency_s)

    def _reports(self, query: dict[str, list[str]]) -> None:
        down, cut = self.server.faults.stream()
        if down:
            self._reply(503, {"error": "unavailable", "reason": "the report stream is down"})
            return
        after = int(query.get("after", ["0"])[0])
        wait = min(MAX_WAIT_S, float(query.get("wait", ["0"])[0]))
        book = self.server.book
        deadline = time.monotonic() + wait
        with book.reported:
            while book.last_seq <= after and (left := deadline - time.monotonic()) > 0:
                book.reported.wait(left)
        reports, last = book.reports_after(after)
        if cut and reports:
            return  # the stream is cut mid-way: no answer, the cursor does not move
        shaped = self.server.faults.shape_reports(reports)
        self._reply(200, {"reports": shaped, "last": last})


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    amount = Decimal(str(value))
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"{value!r} must be a positive number")
    return amount


def serve(
    host: str, port: int, db_path: str | Path, knobs: FaultKnobs | None = None
) -> ExchangeServer:
    """Build a server (not yet serving); the caller runs ``serve_forever``."""
    return ExchangeServer(host, port, db_path, knobs=knobs)
