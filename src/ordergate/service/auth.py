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

from ordergate.domain.errors import ErrorCode, OrderGateError

bearer = HTTPBearer(auto_error=False, scheme_name="bearer", description="The service's api_token")
#: The same token for reads: needed only when the service listens beyond loopback. A
#: scheme of its own so the OpenAPI document can tell reads from writes.
bearer_read = HTTPBearer(
    auto_error=False,
    scheme_name="bearer_read",
    description="The service's api_token, needed beyond loopback",
)


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
ReadCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_read)]


async def require_write(request: Request, credentials: Credentials) -> None:
    """Dependency of every mutating route: the token.

    That no credential travels anywhere else (a body, another header) is checked for
    every route, before this runs, by :class:`~ordergate.service.guard.RequestGuard`.
    """
    _auth(request).check(credentials)


async def require_read(request: Request, credentials: ReadCredentials) -> None:
    """Dependency of every reading route: open on loopback, guarded beyond it."""
    auth = _auth(request)
    if auth.protect_reads:
        auth.check(credentials)
