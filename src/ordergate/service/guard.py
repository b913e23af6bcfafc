"""The request guard: every request's size and credentials are checked before any route runs.

One ASGI middleware, in front of every route, so no route can forget it:

- **Size, while reading.** A declared ``Content-Length`` above the limit is answered
  ``413 E_API_TOO_LARGE`` before a byte of the body is read; a chunked body is counted
  as it streams in and cut the moment it passes the limit (the answer carries
  ``Connection: close``, so the rest is never read). Memory per request is bounded by
  the limit, whatever the client sends.
- **No credential of this service anywhere but ``Authorization``.** Any other header
  (``Idempotency-Key`` included), the path, the query and the body — the raw bytes *and*
  every key and string of the decoded JSON, so ``\\u0033``-escaped forms are caught — are
  searched for a known secret (the API token, broker keys). A hit is refused with
  ``422 E_INTENT_CONTAINS_SECRET`` and nothing is recorded: refusing beats storing it
  masked, because a masked key can no longer be replayed or told apart.

The body, once read and checked, is handed to the route unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate.domain.errors import ErrorCode
from ordergate.obs.redact import Redactor
from ordergate.service.errors import error_response

#: The only header allowed to carry the token.
_AUTH_HEADER = b"authorization"


class BodyTooLarge(Exception):
    """The body passed the limit while it was being read."""


class RequestGuard:
    """Size limit and credential check for every HTTP request (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, redactor: Redactor, max_body_bytes: int) -> None:
        self.app = app
        self.redactor = redactor
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        where = self._secret_outside_body(scope)
        if where is None:
            try:
                first = await self._read(receive)
            except BodyTooLarge:
                await self._too_large(scope, receive, send)
                return
            if first["type"] == "http.request" and self._body_has_secret(first["body"]):
                where = "body"
        else:
            first = None
        if where is not None:
            response = error_response(
                self.redactor,
                422,
                ErrorCode.E_INTENT_CONTAINS_SECRET,
                f"{where}: carries a credential of this service; send the token only in"
                " 'Authorization: Bearer', nowhere else. Nothing was recorded",
                {"field": where},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(first, receive), send)

    async def _read(self, receive: Receive) -> Message:
        """The whole body as one ``http.request`` message, cut at the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message  # the client went away: the route sees the disconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            self.redactor,
            413,
            ErrorCode.E_API_TOO_LARGE,
            f"the request body is larger than {self.max_body_bytes} bytes",
            {"limit": self.max_body_bytes},
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)

    def _secret_outside_body(self, scope: Scope) -> str | None:
        find = self.redactor.contains_secret
        for name, value in scope.get("headers", ()):
            if name.lower() != _AUTH_HEADER and find(value.decode("latin-1")):
                return f"header {name.decode('latin-1')}"
        if find(str(scope.get("path", ""))):
            return "path"
        query = scope.get("query_string", b"").decode("latin-1")
        if query and (find(query) or find(unquote_plus(query))):
            return "query"
        return None

    def _body_has_secret(self, raw: bytes) -> bool:
        if not raw:
            return False
        text = raw.decode("utf-8", "replace")
        if self.redactor.contains_secret(text):
            return True
        try:
            data = json.loads(text, parse_float=Decimal)
        except (ValueError, RecursionError):
            return False  # not JSON: the raw text was checked; the route refuses it
        return any(self.redactor.contains_secret(s) for s in _strings(data))


def _strings(value: Any) -> Iterator[str]:
    """Every key and string inside decoded JSON, without recursion (any depth)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from (k for k in item if isinstance(k, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def _replay(first: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that gives the checked body first, then defers to the server."""
    pending = [] if first is None else [first]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
