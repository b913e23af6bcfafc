"""The Kite routes: install today's token, receive postbacks.

``build_router(get_adapter, require_write)`` returns a FastAPI router; the service
includes it with the running engine's adapter and its own write guard
(``app.include_router(build_router(lambda: engine.broker, require_write))``), so the
adapter's routes know nothing of the service's auth beyond the dependency handed in:

- ``POST /v1/brokers/kite/token`` ``{"access_token": "…"}`` — Kite is asked whether the
  token is good (its profile), then it is used at once and the expired-token kill switch
  is cleared. Answers the Kite user id, never the token. Behind the service's bearer
  auth like every write.
- ``POST /v1/brokers/kite/postback`` — Kite's postback; refused (403) unless postbacks
  are enabled and its checksum verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ordergate.domain.errors import ErrorCode, OrderGateError

from .postback import verify_postback


def _error(status: int, code: ErrorCode, message: str) -> JSONResponse:
    body = {"error": {"code": code.name, "message": message, "retryable": code.retryable}}
    return JSONResponse(body, status_code=status)


def build_router(get_adapter: Callable[[], object], require_write: Callable[..., Any]) -> APIRouter:
    """The Kite routes; ``require_write`` is the FastAPI dependency that guards a write
    (the service's bearer auth): the token route takes it, Kite's postback does not."""
    router = APIRouter(prefix="/v1/brokers/kite", tags=["kite"])

    def adapter() -> Any:
        found = get_adapter()
        return found if getattr(found, "adapter_id", None) == "kite" else None

    @router.post("/token", dependencies=[Depends(require_write)])
    async def install_token(request: Request) -> JSONResponse:
        kite = adapter()
        if kite is None:
            return _error(404, ErrorCode.E_CONFIG_INVALID, "the engine does not trade at Kite")
        body = await request.json()
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.strip():
            return _error(400, ErrorCode.E_INTENT_INVALID, "access_token: a non-empty string")
        from starlette.concurrency import run_in_threadpool

        try:
            user_id = await run_in_threadpool(kite.install_token, token)
        except OrderGateError as exc:
            return _error(400 if not exc.retryable else 503, exc.code, kite.redactor(exc.message))
        return JSONResponse({"installed": True, "user_id": user_id, "kill_switch_cleared": True})

    @router.post("/postback")
    async def postback(request: Request) -> JSONResponse:
        kite = adapter()
        if kite is None or not kite.settings.postbacks:
            return _error(404, ErrorCode.E_API_NOT_FOUND, "Kite postbacks are not enabled")
        payload = await request.json()
        if not isinstance(payload, dict) or not verify_postback(payload, kite.api_secret):
            return _error(403, ErrorCode.E_API_UNAUTHORIZED, "postback checksum does not verify")
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(kite.on_postback, payload)
        return JSONResponse({"ok": True})

    return router
