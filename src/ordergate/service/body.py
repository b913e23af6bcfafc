"""Reading request bodies exactly: JSON numbers become Decimals, never floats.

FastAPI's own body parsing goes through floats (``150.1`` would arrive as
``150.09999…``); money must not. Routes that take money read their body here: size
capped while it streams in, parsed with ``parse_float=Decimal``, ``NaN``/``Infinity``
refused.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.requests import Request

from ordergate.domain.errors import ErrorCode, OrderGateError
from ordergate.service.errors import BadRequest


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


async def read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Parse ``raw`` or raise :class:`BadRequest` (400, ``E_INTENT_INVALID``)."""
    if not raw.strip():
        raise BadRequest("the request body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


def _too_large(max_bytes: int) -> OrderGateError:
    return OrderGateError(
        f"the request body is larger than {max_bytes} bytes", code=ErrorCode.E_API_TOO_LARGE
    )
