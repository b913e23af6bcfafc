"""The exchange's fault knobs: what a real venue and a real network do to an engine.

Run-level knobs (:class:`FaultKnobs`) are set at start (``--faults JSON``) or with
``POST /v1/faults`` and draw from one seeded ``random.Random``, so a failing run can be
replayed. Per-request knobs ride in the ``X-Fault`` header and always fire.

==================  ==========================================================  ========
knob (run / X-Fault) what happens                                                outcome
==================  ==========================================================  ========
latency_ms          the answer waits this long (after the work is committed)     known
p_drop_reply /      submit or cancel is processed, then the connection closes    unknown
drop_reply          without an answer ("timeout after accepting")
p_503 / http_503    answered 503 before anything is done                         not done
p_429 / http_429    answered 429 (``Retry-After``) before anything is done       not done
p_reject / reject   the submit is rejected (recorded as a REJECTED order)        known
p_delay_fill /      a marketable order rests and fills ``delay_fill_ms`` later   —
delay_fill_ms=N
fill_parts=N        a fill comes as N executions (``part_gap_ms`` apart)          —
p_late_fill /       a canceled order still fills ``late_fill_ms`` after the       —
late_fill_ms=N      cancel was confirmed (the late fill of seed 004)
stream_down         the report stream answers 503                                 —
p_stream_cut        a report long-poll is cut: connection closed, no answer      —
p_duplicate_report  a report is delivered twice                                  —
p_reorder           a batch of reports is delivered newest first                 —
p_drop_report       a report is skipped by the stream (polling must find it)     —
dedupe=false        a repeated ``client_order_id`` opens a *second* order: the   —
                    venue that makes a blind resend dangerous
hide_ms=N           (X-Fault on a submit) the order is taken, but look-ups and   —
                    order lists do not show it for N ms (a lagging order query:
                    a miss is not proof that it never arrived)
==================  ==========================================================  ========
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

RUN_KNOBS_HELP = __doc__


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultKnobs:
    seed: int = 0
    latency_ms: int = 0
    p_drop_reply: float = 0.0
    p_503: float = 0.0
    p_429: float = 0.0
    p_reject: float = 0.0
    p_delay_fill: float = 0.0
    delay_fill_ms: int = 100
    fill_parts: int = 1
    part_gap_ms: int = 0
    p_late_fill: float = 0.0
    late_fill_ms: int = 200
    stream_down: bool = False
    p_stream_cut: float = 0.0
    p_duplicate_report: float = 0.0
    p_reorder: float = 0.0
    p_drop_report: float = 0.0
    dedupe: bool = True

    @classmethod
    def parse(cls, data: dict[str, Any]) -> FaultKnobs:
        known = {f.name: f for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"unknown fault knobs: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            kind = type(getattr(cls(), name))
            values[name] = _coerce(kind, value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _coerce(kind: type, value: Any) -> Any:
    if kind is bool:
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    return kind(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFaults:
    """What will be done to one request, decided when it arrives."""

    latency_s: float = 0.0
    drop_reply: bool = False
    status: int | None = None  # 503 or 429: answered before anything is done
    reject: bool = False
    delay_fill_s: float | None = None
    fill_parts: int = 1
    part_gap_s: float = 0.0
    late_fill_s: float | None = None
    hide_s: float | None = None


class FaultPlan:
    """Holds the run's knobs and decides each request's faults (thread-safe)."""

    def __init__(self, knobs: FaultKnobs | None = None) -> None:
        self._lock = threading.Lock()
        self.knobs = knobs or FaultKnobs()
        self._rng = random.Random(self.knobs.seed)

    def set(self, knobs: FaultKnobs) -> None:
        with self._lock:
            self.knobs = knobs
            self._rng = random.Random(knobs.seed)

    def _hit(self, p: float) -> bool:
        return p > 0 and self._rng.random() < p

    def decide(self, kind: str, header: str | None) -> RequestFaults:
        """``kind`` is ``submit``, ``cancel`` or ``read``."""
        asked = parse_header(header)
        with self._lock:
            k = self.knobs
            status = None
            if "http_503" in asked or self._hit(k.p_503):
                status = 503
            elif "http_429" in asked or self._hit(k.p_429):
                status = 429
            writes = kind in ("submit", "cancel")
            submit = kind == "submit"
            delay = None
            if "delay_fill_ms" in asked:
                delay = float(asked["delay_fill_ms"]) / 1000
            elif submit and self._hit(k.p_delay_fill):
                delay = k.delay_fill_ms / 1000
            late = None
            if "late_fill_ms" in asked:
                late = float(asked["late_fill_ms"]) / 1000
            elif submit and self._hit(k.p_late_fill):
                late = k.late_fill_ms / 1000
            return RequestFaults(
                latency_s=float(asked.get("latency_ms", k.latency_ms)) / 1000,
                drop_reply=writes and ("drop_reply" in asked or self._hit(k.p_drop_reply)),
                status=status,
                reject=submit and ("reject" in asked or self._hit(k.p_reject)),
                delay_fill_s=delay,
                fill_parts=max(1, int(asked.get("fill_parts", k.fill_parts))),
                part_gap_s=float(asked.get("part_gap_ms", k.part_gap_ms)) / 1000,
                late_fill_s=late,
                hide_s=float(asked["hide_ms"]) / 1000 if submit and "hide_ms" in asked else None,
            )

    def stream(self) -> tuple[bool, bool]:
        """(answer 503, cut the connection) for one long-poll."""
        with self._lock:
            return self.knobs.stream_down, self._hit(self.knobs.p_stream_cut)

    def shape_reports(self, reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Duplicate, drop and reorder a batch as the knobs say."""
        with self._lock:
            k = self.knobs
            out: list[dict[str, Any]] = []
            for report in reports:
                if self._hit(k.p_drop_report):
                    continue
                out.append(report)
                if self._hit(k.p_duplicate_report):
                    out.append(report)
            if len(out) > 1 and self._hit(k.p_reorder):
                out.reverse()
            return out

    def with_changes(self, **changes: Any) -> FaultKnobs:
        return replace(self.knobs, **changes)


def parse_header(header: str | None) -> dict[str, str]:
    """``drop_reply,latency_ms=300`` → ``{"drop_reply": "", "latency_ms": "300"}``."""
    out: dict[str, str] = {}
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            out[name.lower()] = value
    return out
