"""Bearer-token auth: required for every mutating route, and for every route when the
service listens beyond loopback.

The token comes from the settings (``api_token``); ``ordergate serve`` generates one
when none is set. Comparison is constant-time (:func:`hmac.compare_digest`) over the
UTF-8 bytes, and a failure never says how close the guess was — nor echoes it.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ordergate.domain.errors import ErrorCode, InvalidIntent, OrderGateError

bearer = HTTPBearer(auto_error=False, description="The service's api_token")


class Unauthorized(OrderGateError):
    default_code = ErrorCode.E_API_UNAUTHORIZED


class TokenAuth:
    """Decides, per request, whether the credentials given are good enough."""

    def __init__(self, token: str | None, *, protect_reads: bool) -> None:
        self._token = token.encode() if token else None
        self.protect_reads = protect_reads

    def check(self, credentials: HTTPAuthorizationCredentials | None) -> None:
        if self._token is None:
            raise Unauthorized("no api_token is configured; set ORDERGATE_API_TOKEN")
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized("send 'Authorization: Bearer <api_token>'")
        if not hmac.compare_digest(credentials.credentials.encode(), self._token):
            raise Unauthorized("the bearer token is not valid")


def _auth(request: Request) -> TokenAuth:
    auth: TokenAuth = request.app.state.auth
    return auth


Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


async def require_write(request: Request, credentials: Credentials) -> None:
    """Dependency of every mutating route: the token, and no credential in the body.

    A body that carries one of the service's secrets (a client pasting its token into
    a ``reason``) is refused before anything is stored, so no stored row, event or
    echo can hold it.
    """
    _auth(request).check(credentials)
    context = request.app.state.ctx
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > context.max_body_bytes:
        return  # the route's own read answers 413 without reading it
    raw = await request.body()
    if raw and context.redactor.contains_secret(raw.decode("utf-8", "replace")):
        raise InvalidIntent("body", "contains a credential of this service; it was not recorded")


async def require_read(request: Request, credentials: Credentials) -> None:
    """Dependency of every reading route: open on loopback, guarded beyond it."""
    auth = _auth(request)
    if auth.protect_reads:
        auth.check(credentials)
