"""A person's resolution of a reconciliation report: recorded, never applied.

Reconciliation lists mismatches and corrects nothing (``reconcile.py``); a person
looks, acts at the broker or in the books, and records here who did what and when::

    ordergate reconcile resolve rec_… --actor alice --action "canceled at broker" --note "…"
    POST /v1/reconcile/{report_id}/resolutions   {"actor", "action", "note"}

Each resolution is appended to ``reconcile_resolutions`` (the report is never edited)
and recorded as the event ``ops.reconcile.resolution`` through the outbox. A report
counts as ``resolved`` once it has at least one resolution; later ones add to the
record (a second look, a correction of the first note).
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from ordergate.domain.errors import InvalidIntent
from ordergate.engine.reconcile_log import (
    ReconcileLog,
    Resolution,
    reconcile_log_for,
    report_not_found,
)

if TYPE_CHECKING:
    from ordergate.engine.core import EngineCore

RESOLUTION_TOPIC = "ops.reconcile.resolution"
#: The longest actor, action and note accepted, in characters.
LIMITS = {"actor": 100, "action": 200, "note": 4000}


def resolve_report(
    engine: EngineCore,
    report_id: str,
    *,
    actor: str,
    action: str,
    note: str = "",
    log: ReconcileLog | None = None,
) -> Resolution:
    """Append one resolution to the stored report ``report_id`` and record its event.

    Raises :class:`InvalidIntent` (``E_INTENT_INVALID``) for a missing or malformed
    actor or action, :class:`~ordergate.engine.reconcile_log.ReportNotFound`
    (``E_RECONCILE_NOT_FOUND``) when no such report is stored.
    """
    resolution = Resolution(
        resolution_id=engine.ids.next_id("res"),
        report_id=_text(report_id, "report_id", 100, required=True),
        resolved_at=engine.clock.now(),
        actor=_text(actor, "actor", LIMITS["actor"], required=True),
        action=_text(action, "action", LIMITS["action"], required=True),
        note=_text(note, "note", LIMITS["note"], required=False, lines=True),
    )
    (log or reconcile_log_for(engine.store)).add_resolution(resolution)
    engine.record_event(RESOLUTION_TOPIC, resolution.report_id, resolution.to_dict())
    return resolution


def with_resolutions(log: ReconcileLog, report: dict[str, Any]) -> dict[str, Any]:
    """The report as stored, with its resolutions and whether it is resolved."""
    found = log.resolutions(str(report["report_id"]))
    return {**report, "resolved": bool(found), "resolutions": [r.to_dict() for r in found]}


def list_reports(log: ReconcileLog, limit: int = 20) -> list[dict[str, Any]]:
    """The latest reports, newest first, each with its resolutions."""
    return [with_resolutions(log, report) for report in log.latest(limit)]


def get_report(log: ReconcileLog, report_id: str) -> dict[str, Any]:
    report = log.get(report_id)
    if report is None:
        raise report_not_found(report_id)
    return with_resolutions(log, report)


def _text(value: object, field: str, longest: int, *, required: bool, lines: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidIntent(field, "must be text")
    allowed = "\n\t" if lines else ""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        raise InvalidIntent(field, "must not contain control characters")
    text = value.strip()
    if required and not text:
        raise InvalidIntent(field, "is required: say who resolved it and what was done")
    if len(text) > longest:
        raise InvalidIntent(field, f"must be at most {longest} characters, got {len(text)}")
    return text
