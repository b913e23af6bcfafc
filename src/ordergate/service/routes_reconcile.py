"""Reconciliation reports and people's resolutions of them, over HTTP.

- ``GET  /v1/reconcile/reports``                    the latest reports with their resolutions
- ``GET  /v1/reconcile/{report_id}``                one report with its resolutions
- ``GET  /v1/reconcile/{report_id}/resolutions``    its resolutions, oldest first
- ``POST /v1/reconcile/{report_id}/resolutions``    record one (who, what was done, a note)

A resolution is appended, never applied: the report stays as it was seen
(``engine/resolutions.py``). An unknown report is ``404 E_RECONCILE_NOT_FOUND``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from ordergate.domain.errors import InvalidIntent
from ordergate.engine.reconcile_log import ReconcileLog, ReportNotFound, reconcile_log_for
from ordergate.engine.resolutions import LIMITS, get_report, list_reports, resolve_report
from ordergate.service.auth import require_read, require_write
from ordergate.service.body import parse_json, read_body
from ordergate.service.context import ServiceContext, ctx
from ordergate.service.errors import error_response
from ordergate.service.routes_orders import ERROR_RESPONSES

router = APIRouter(prefix="/v1/reconcile", tags=["reconciliation"])
_REPORT_ID = Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")


class ResolutionIn(BaseModel):
    """What a person did about a report; ``actor`` and ``action`` are required."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=LIMITS["actor"])
    action: str = Field(min_length=1, max_length=LIMITS["action"])
    note: str = Field("", max_length=LIMITS["note"])


class ResolutionOut(BaseModel):
    resolution_id: str
    report_id: str
    resolved_at: str
    actor: str
    action: str
    note: str


#: the body read by hand (size-capped), so its schema is given to the document here
_RESOLUTION_BODY = {
    "required": True,
    "content": {"application/json": {"schema": ResolutionIn.model_json_schema()}},
}


def _log(c: ServiceContext) -> ReconcileLog:
    return reconcile_log_for(c.engine.store)


def _not_found(c: ServiceContext, exc: ReportNotFound) -> JSONResponse:
    return error_response(c.redactor, 404, exc.code, exc.message, exc.context)


@router.get("/reports", dependencies=[Depends(require_read)], responses=ERROR_RESPONSES)
async def reports(request: Request, limit: int = Query(20, ge=1, le=1000)) -> JSONResponse:
    """The latest reports, newest first, each with ``resolved`` and its ``resolutions``."""
    c = ctx(request)
    found = await run_in_threadpool(list_reports, _log(c), limit)
    return JSONResponse({"reports": found})


@router.get("/{report_id}", dependencies=[Depends(require_read)], responses=ERROR_RESPONSES)
async def report(request: Request, report_id: str = _REPORT_ID) -> JSONResponse:
    """One stored report with ``resolved`` and its ``resolutions``."""
    c = ctx(request)
    try:
        found = await run_in_threadpool(get_report, _log(c), report_id)
    except ReportNotFound as exc:
        return _not_found(c, exc)
    return JSONResponse(found)


@router.get(
    "/{report_id}/resolutions",
    dependencies=[Depends(require_read)],
    responses={200: {"model": list[ResolutionOut]}, **ERROR_RESPONSES},
)
async def resolutions(request: Request, report_id: str = _REPORT_ID) -> JSONResponse:
    """The report's resolutions, oldest first."""
    c = ctx(request)
    try:
        found = await run_in_threadpool(get_report, _log(c), report_id)
    except ReportNotFound as exc:
        return _not_found(c, exc)
    return JSONResponse(found["resolutions"])


@router.post(
    "/{report_id}/resolutions",
    dependencies=[Depends(require_write)],
    status_code=201,
    responses={201: {"model": ResolutionOut}, **ERROR_RESPONSES},
    openapi_extra={"requestBody": _RESOLUTION_BODY},
)
async def resolve(request: Request, report_id: str = _REPORT_ID) -> JSONResponse:
    """Record who resolved the report, what was done and a note (append-only)."""
    c = ctx(request)
    body = _resolution_in(parse_json(await read_body(request, c.max_body_bytes)))
    try:
        resolution = await run_in_threadpool(
            lambda: resolve_report(
                c.engine, report_id, actor=body.actor, action=body.action, note=body.note
            )
        )
    except ReportNotFound as exc:
        return _not_found(c, exc)
    return JSONResponse(resolution.to_dict(), status_code=201)


def _resolution_in(data: Any) -> ResolutionIn:
    if not isinstance(data, dict):
        raise InvalidIntent("body", "must be a JSON object with actor, action and note")
    try:
        return ResolutionIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidIntent(field, str(first["msg"])) from None
