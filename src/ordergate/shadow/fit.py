"""Which fill-model settings would have matched the real fills best: two grid searches.

**Slippage** (the ``fixed_bps`` model, ``slippage_bps``): over the market orders with a
real fill and an arrival mark, the model's price is ``arrival × (1 ± s / 10,000)``; its
error on an order is ``(model − real avg) / real avg × 10,000`` bps. Every ``s`` from 0
to the largest slippage observed (at least 50) in steps of 0.25 bps is tried; the one
with the least mean squared error wins, reported with its root-mean-square error and
the same error at the configured ``slippage_bps``.

**Participation** (the fill model's share of each mark's volume an order may take):
over the same orders, the venue's rule is replayed on the marks the twin recorded —
from the mark standing at submit, each mark lets ``floor(p × volume)`` trade (all of
it when the mark has no volume) — and at each real fill's time the model's cumulative
quantity is compared with the real one, as a share of the order. Every ``p`` of
:data:`PARTICIPATION_GRID` is tried; the least mean squared error wins, the smallest
``p`` on a tie (the most conservative setting the fills allow), reported with its RMS
error (share of the order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from ordergate.domain.market import Mark
from ordergate.domain.money import BPS, ZERO, fmt
from ordergate.shadow.figures import Pair, rounded

SLIPPAGE_STEP = Decimal("0.25")
SLIPPAGE_MIN_TOP = Decimal(50)
#: participation shares tried; None is "no limit"
PARTICIPATION_GRID: tuple[Decimal | None, ...] = (
    *(Decimal(x) for x in ("0.01", "0.02", "0.05", "0.1", "0.15", "0.2", "0.25", "0.5", "1")),
    None,
)


def _sqrt(value: Decimal) -> Decimal:
    return value.sqrt()


def _market_samples(pairs: Sequence[Pair]) -> list[Pair]:
    return [
        p
        for p in pairs
        if p.link.order_type == "MARKET" and p.real.fills and p.arrival_price is not None
    ]


def slippage_error(pairs: Sequence[Pair], bps: Decimal) -> Decimal:
    """Mean squared error (bps²) of ``fixed_bps`` at ``bps`` on ``pairs``."""
    total = ZERO
    for pair in pairs:
        real = pair.real.avg_price
        arrival = pair.arrival_price
        if real is None or arrival is None:
            continue
        model = arrival * (BPS + pair.side.sign * bps) / BPS
        total += ((model - real) / real * BPS) ** 2
    return total / len(pairs)


def fit_slippage(pairs: Sequence[Pair], configured_bps: Decimal) -> dict[str, Any]:
    samples = _market_samples(pairs)
    result: dict[str, Any] = {
        "model": "fixed_bps",
        "method": "grid search, 0.25 bps steps, least mean squared error in bps against "
        "the real average fill price (market orders with a real fill and an arrival mark)",
        "samples": len(samples),
        "configured_bps": fmt(configured_bps),
    }
    if not samples:
        return {**result, "best_bps": None, "rms_error_bps": None, "configured_rms_error_bps": None}
    observed = [
        p.side.sign * ((p.real.avg_price or ZERO) - (p.arrival_price or ZERO))
        / (p.arrival_price or Decimal(1)) * BPS
        for p in samples
    ]  # fmt: skip
    top = max(SLIPPAGE_MIN_TOP, max(observed).to_integral_value(rounding="ROUND_CEILING"))
    best, best_error = ZERO, slippage_error(samples, ZERO)
    step = SLIPPAGE_STEP
    while step <= top:
        error = slippage_error(samples, step)
        if error < best_error:
            best, best_error = step, error
        step += SLIPPAGE_STEP
    return {
        **result,
        "grid": [fmt(ZERO), fmt(top)],
        "best_bps": fmt(best),
        "rms_error_bps": rounded(_sqrt(best_error), "bps"),
        "configured_rms_error_bps": rounded(_sqrt(slippage_error(samples, configured_bps)), "bps"),
    }


def _capped(volume: Decimal | None, share: Decimal | None, qty: Decimal) -> Decimal:
    if share is None or volume is None:
        return qty
    return (volume * share).to_integral_value(rounding=ROUND_FLOOR)


def participation_error(
    pairs: Sequence[Pair], marks_of: Callable[[str], list[Mark]], share: Decimal | None
) -> tuple[Decimal, int]:
    """Mean squared error (share of the order, squared) and the points it is taken over."""
    total, points = ZERO, 0
    for pair in pairs:
        marks = marks_of(pair.link.symbol)
        start = pair.link.submitted_at
        standing = [m for m in marks if m.ts <= start][-1:]
        path = standing + [m for m in marks if m.ts > start]
        qty = pair.real.qty
        real_cum = ZERO
        for fill in sorted(pair.real.fills, key=lambda f: f.ts):
            real_cum += fill.last_qty
            model = min(
                qty, sum((_capped(m.volume, share, qty) for m in path if m.ts <= fill.ts), ZERO)
            )
            total += ((model - real_cum) / qty) ** 2
            points += 1
    return (total / points if points else ZERO), points


def fit_participation(
    pairs: Sequence[Pair], marks_of: Callable[[str], list[Mark]]
) -> dict[str, Any]:
    samples = [p for p in _market_samples(pairs) if marks_of(p.link.symbol)]
    result: dict[str, Any] = {
        "method": "grid search over "
        + ", ".join("none" if p is None else fmt(p) or "" for p in PARTICIPATION_GRID)
        + ": the venue's per-mark cap floor(p × volume) replayed on the recorded marks from "
        "the one standing at submit; least mean squared error of the cumulative filled "
        "share at each real fill (smallest p on a tie)",
        "samples": len(samples),
    }
    if not samples:
        return {**result, "best": None, "rms_error_share": None, "points": 0}
    best: Decimal | None = None
    best_error: Decimal | None = None
    points = 0
    for share in PARTICIPATION_GRID:
        error, points = participation_error(samples, marks_of, share)
        if best_error is None or error < best_error:
            best, best_error = share, error
    return {
        **result,
        "points": points,
        "best": "none" if best is None else fmt(best),
        "rms_error_share": rounded(_sqrt(best_error or ZERO), "ratio"),
    }
