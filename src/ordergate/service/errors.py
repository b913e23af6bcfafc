"""One JSON error shape for every failure, and the HTTP status of each error code.

Every non-2xx answer is ``{"error": {"code", "message", "retryable", "context"}}``
with a code from :class:`~ordergate.domain.errors.ErrorCode`. Bad input of any kind —
unparseable JSON, a wrong field, an unknown route — is a 4xx with a code; only a bug
is a 500 (``E_API_INTERNAL``, logged with its traceback, never echoed). Messages and
context pass the redactor before they leave, so an error never carries a credential
back, even when the client put one in its input.
"""

from __future__ import annotations

import re
import traceback
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from ordergate.domain.errors import (
    BrokerError,
    ConfigError,
    ErrorCode,
    IdempotencyConflict,
    IllegalTransition,
    InvalidIntent,
    OrderGateError,
    OrderNotCancelable,
    OrderNotFound,
    OrderNotModifiable,
    PersistenceError,
)
from ordergate.obs.redact import Redactor

log = structlog.get_logger("ordergate.service")

#: Codes whose status does not follow from the exception type.
_BY_CODE = {
    ErrorCode.E_API_UNAUTHORIZED: 401,
    ErrorCode.E_API_NOT_FOUND: 404,
    ErrorCode.E_API_TOO_LARGE: 413,
    ErrorCode.E_API_NOT_READY: 503,
    ErrorCode.E_INTENT_CONTAINS_SECRET: 422,
    ErrorCode.E_API_INTERNAL: 500,
    # sent, its answer not yet recorded: accepted, not failed (the body names the order)
    ErrorCode.E_EXEC_SENT_UNRECORDED: 202,
}
#: Most specific first: the first matching type decides.
_BY_TYPE: tuple[tuple[type[OrderGateError], int], ...] = (
    (InvalidIntent, 422),
    (IdempotencyConflict, 409),
    (OrderNotFound, 404),
    (OrderNotCancelable, 409),
    (OrderNotModifiable, 409),
    (IllegalTransition, 409),
    (PersistenceError, 503),
    (ConfigError, 422),
)


class BadRequest(OrderGateError):
    """The request itself could not be read (not JSON, wrong encoding): 400."""

    default_code = ErrorCode.E_INTENT_INVALID


def status_for(exc: OrderGateError) -> int:
    if exc.code in _BY_CODE:
        return _BY_CODE[exc.code]
    if isinstance(exc, BadRequest):
        return 400
    for kind, status in _BY_TYPE:
        if isinstance(exc, kind):
            return status
    if isinstance(exc, BrokerError) or exc.retryable:
        return 503 if exc.retryable else 502
    return 400


def error_response(
    redactor: Redactor,
    status: int,
    code: ErrorCode,
    message: str,
    context: dict[str, Any] | None = None,
) -> JSONResponse:
    body = {
        "error": {
            "code": code.name,
            "message": redactor.text(message),
            "retryable": code.retryable,
            "context": redactor.scrub({k: str(v) for k, v in (context or {}).items()}),
        }
    }
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="ordergate"'
    elif status == 503:
        headers["Retry-After"] = "1"
    return JSONResponse(body, status_code=status, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on the request's path (the ``Allow`` of a 405).

    Read from the OpenAPI document's paths (routers nest their routes), and from the
    app's own top-level routes for those the document leaves out (the dashboard).
    """
    path = request.url.path
    methods: set[str] = set()
    app = request.app
    document = app.openapi() if hasattr(app, "openapi") else {}
    for template, operations in document.get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path):
            methods.update(m.upper() for m in operations)
    scope = {**request.scope, "method": "GET"}
    for route in app.router.routes:
        if isinstance(route, Route) and route.matches(scope)[0] is not Match.NONE:
            methods.update(route.methods or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install_error_handlers(app: FastAPI, redactor: Redactor) -> None:
    """Map every failure a route can raise onto the one error shape."""

    async def on_ordergate(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, OrderGateError):
            return await on_unexpected(request, exc)
        return error_response(redactor, status_for(exc), exc.code, exc.message, exc.context)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        message = f"{where or 'request'}: {first.get('msg', 'is not valid')}"
        return error_response(
            redactor, 422, ErrorCode.E_INTENT_INVALID, message, {"field": where or "request"}
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 400
        code = {
            401: ErrorCode.E_API_UNAUTHORIZED,
            403: ErrorCode.E_API_UNAUTHORIZED,
            404: ErrorCode.E_API_NOT_FOUND,
            405: ErrorCode.E_API_NOT_FOUND,
            413: ErrorCode.E_API_TOO_LARGE,
        }.get(status, ErrorCode.E_INTENT_INVALID)
        headers: dict[str, str] = {}
        if status == 405:
            allowed = allowed_methods(request)
            message = f"{request.method} is not allowed on {request.url.path}"
            if allowed:
                message += f"; use {', '.join(allowed)}"
                headers["Allow"] = ", ".join(allowed)
        elif status == 404:
            message = f"no route {request.url.path}"
        else:
            message = str(getattr(exc, "detail", "bad request"))
        response = error_response(redactor, status if status < 500 else 400, code, message)
        response.headers.update(headers)
        return response

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unhandled error",
            method=request.method,
            path=request.url.path,
            exception="".join(traceback.format_exception(exc)),
        )
        return error_response(
            redactor, 500, ErrorCode.E_API_INTERNAL, "unexpected server error (logged)"
        )

    app.add_exception_handler(OrderGateError, on_ordergate)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
