"""The ``algo`` block of an intent: which algorithm, and its parameters, validated.

``{"kind": "twap", "horizon_s": 600, "slices": 10}`` — every field is checked with a
clear error naming ``algo.<field>`` (:class:`~ordergate.domain.errors.InvalidIntent`):

- ``kind``: ``twap`` (even slices), ``vwap`` (slices along a volume ``profile``),
  ``pov`` (a ``participation`` share of the volume printed since the start),
  ``iceberg`` (``display_qty`` shown at the limit, refilled as it fills);
- the window: ``start_at`` (default: when the parent is accepted) and ``end_at`` or
  ``horizon_s``; TWAP and VWAP need one, POV may run open-ended, iceberg has none;
- the slicing: ``slices`` or ``interval_s`` (a child lives as long as its slice; POV's
  ``interval_s`` is how often it catches up, 10 s unless given);
- ``urgency``: ``low`` spreads what a slice missed over the slices left, ``normal``
  catches it up in the next slice, ``high`` also runs one slice ahead of the schedule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ordergate.domain.errors import InvalidIntent
from ordergate.domain.money import fmt, parse_decimal
from ordergate.domain.timestamps import parse_time

#: The most slices one parent may be cut into (a TWAP of a day at one slice a second).
MAX_SLICES = 100_000
#: POV's catch-up interval when none is given, in seconds.
DEFAULT_POV_INTERVAL_S = 10.0


class AlgoKind(StrEnum):
    TWAP = "twap"
    VWAP = "vwap"
    POV = "pov"
    ICEBERG = "iceberg"


class Urgency(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


_FIELDS = frozenset(
    {
        "kind",
        "start_at",
        "end_at",
        "horizon_s",
        "slices",
        "interval_s",
        "participation",
        "display_qty",
        "profile",
        "urgency",
        "min_slice_qty",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlgoTerms:
    """An algorithm and its parameters (see the module)."""

    kind: AlgoKind
    start_at: datetime | None = None
    end_at: datetime | None = None
    horizon_s: float | None = None
    slices: int | None = None
    interval_s: float | None = None
    participation: Decimal | None = None
    display_qty: Decimal | None = None
    profile: tuple[Decimal, ...] = ()
    urgency: Urgency = Urgency.NORMAL
    min_slice_qty: Decimal | None = None

    def __post_init__(self) -> None:
        kind = self.kind
        if self.end_at is not None and self.horizon_s is not None:
            raise InvalidIntent("algo.end_at", "give end_at or horizon_s, not both")
        for name in ("start_at", "end_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidIntent(f"algo.{name}", "must carry a time zone (e.g. ...Z)")
        if self.start_at is not None and self.end_at is not None and self.end_at <= self.start_at:
            raise InvalidIntent("algo.end_at", "must be after start_at")
        for name in ("horizon_s", "interval_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise InvalidIntent(f"algo.{name}", "must be a positive number of seconds")
        if self.slices is not None and not (1 <= self.slices <= MAX_SLICES):
            raise InvalidIntent("algo.slices", f"must be between 1 and {MAX_SLICES}")
        if self.slices is not None and self.interval_s is not None:
            raise InvalidIntent("algo.slices", "give slices or interval_s, not both")
        if kind in (AlgoKind.TWAP, AlgoKind.VWAP):
            if self.end_at is None and self.horizon_s is None:
                raise InvalidIntent("algo.horizon_s", f"{kind} needs horizon_s or end_at")
            if self.slices is None and self.interval_s is None and not self.profile:
                raise InvalidIntent("algo.slices", f"{kind} needs slices, interval_s or a profile")
        self._check_kind_fields()

    def _check_kind_fields(self) -> None:
        kind = self.kind
        rate = self.participation
        if kind is AlgoKind.POV:
            if rate is None:
                raise InvalidIntent("algo.participation", "pov needs a participation rate")
            if not (0 < rate < 1):
                raise InvalidIntent("algo.participation", "must be between 0 and 1 (exclusive)")
        elif rate is not None:
            raise InvalidIntent("algo.participation", f"is for pov, not {kind}")
        if kind is AlgoKind.ICEBERG:
            if self.display_qty is None:
                raise InvalidIntent("algo.display_qty", "iceberg needs a display quantity")
            if self.end_at is not None or self.horizon_s is not None or self.slices is not None:
                raise InvalidIntent("algo.kind", "an iceberg has no window or slices")
        elif self.display_qty is not None:
            raise InvalidIntent("algo.display_qty", f"is for iceberg, not {kind}")
        if self.display_qty is not None and self.display_qty <= 0:
            raise InvalidIntent("algo.display_qty", "must be greater than zero")
        if self.profile:
            if kind is not AlgoKind.VWAP:
                raise InvalidIntent("algo.profile", f"is for vwap, not {kind}")
            if any(w < 0 for w in self.profile) or sum(self.profile) <= 0:
                raise InvalidIntent("algo.profile", "weights must be >= 0 with a positive sum")
            if self.slices is not None and len(self.profile) != self.slices:
                raise InvalidIntent(
                    "algo.profile", f"has {len(self.profile)} weights for {self.slices} slices"
                )
        if self.min_slice_qty is not None and self.min_slice_qty <= 0:
            raise InvalidIntent("algo.min_slice_qty", "must be greater than zero")

    # ------------------------------------------------------------- window

    def window(self, accepted_at: datetime) -> tuple[datetime, datetime | None]:
        """(start, end) of the schedule for a parent accepted at ``accepted_at``."""
        start = self.start_at or accepted_at
        if self.end_at is not None:
            return start, self.end_at
        if self.horizon_s is not None:
            return start, start + timedelta(seconds=self.horizon_s)
        return start, None

    def slice_count(self, accepted_at: datetime) -> int | None:
        """How many slices TWAP and VWAP cut the window into (None: no fixed count)."""
        if self.slices is not None:
            return self.slices
        if self.profile:
            return len(self.profile)
        start, end = self.window(accepted_at)
        if end is None or self.interval_s is None:
            return None
        count = math.ceil((end - start).total_seconds() / self.interval_s - 1e-9)
        return max(1, min(MAX_SLICES, count))

    # ------------------------------------------------------------- parsing

    @classmethod
    def parse(cls, data: object) -> AlgoTerms:
        if isinstance(data, AlgoTerms):
            return data
        if not isinstance(data, Mapping):
            raise InvalidIntent("algo", 'must be an object, e.g. {"kind": "twap", ...}')
        raw = {str(k).lower(): v for k, v in data.items()}
        unknown = sorted(set(raw) - _FIELDS)
        if unknown:
            raise InvalidIntent(f"algo.{unknown[0]}", "is not a parameter of an algorithm")
        kind_text = str(raw.get("kind", "")).strip().lower()
        try:
            kind = AlgoKind(kind_text)
        except ValueError:
            choices = ", ".join(k.value for k in AlgoKind)
            raise InvalidIntent(
                "algo.kind", f"must be one of {choices}; got {kind_text!r}"
            ) from None
        values: dict[str, Any] = {"kind": kind}
        for name in ("start_at", "end_at"):
            if raw.get(name) is not None:
                values[name] = parse_time(raw[name], f"algo.{name}")
        for name in ("horizon_s", "interval_s"):
            if raw.get(name) is not None:
                values[name] = float(parse_decimal(raw[name], f"algo.{name}", positive=True))
        if raw.get("slices") is not None:
            slices = raw["slices"]
            if isinstance(slices, bool) or not isinstance(slices, int | str):
                raise InvalidIntent("algo.slices", "must be a whole number")
            try:
                values["slices"] = int(slices)
            except ValueError:
                raise InvalidIntent("algo.slices", "must be a whole number") from None
        for name in ("participation", "display_qty", "min_slice_qty"):
            if raw.get(name) is not None:
                values[name] = parse_decimal(raw[name], f"algo.{name}", positive=True)
        if raw.get("profile") is not None:
            profile = raw["profile"]
            if isinstance(profile, str | bytes) or not hasattr(profile, "__iter__"):
                raise InvalidIntent("algo.profile", "must be a list of weights")
            values["profile"] = tuple(
                parse_decimal(w, f"algo.profile[{i}]") for i, w in enumerate(profile)
            )
        if raw.get("urgency") is not None:
            try:
                values["urgency"] = Urgency(str(raw["urgency"]).strip().lower())
            except ValueError:
                raise InvalidIntent("algo.urgency", "must be low, normal or high") from None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, only the parameters given (the canonical form hashes this)."""
        out: dict[str, Any] = {"kind": self.kind.value, "urgency": self.urgency.value}
        if self.start_at is not None:
            out["start_at"] = self.start_at.isoformat()
        if self.end_at is not None:
            out["end_at"] = self.end_at.isoformat()
        for name in ("horizon_s", "interval_s", "slices"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        for name in ("participation", "display_qty", "min_slice_qty"):
            value = getattr(self, name)
            if value is not None:
                out[name] = fmt(value)
        if self.profile:
            out["profile"] = [fmt(w) for w in self.profile]
        return out
