"""Simulated against real, per order and per group: pure arithmetic on recorded facts.

Definitions (every figure is Decimal; means are taken exactly and rounded only when shown,
half-even, to fixed places: bps 0.01, seconds 0.001, ratios 0.0001):

- **price difference (bps)** = side sign × (simulated avg − real avg) / real avg × 10,000.
  Positive: the simulation was more pessimistic than the market (a buy paid more, a
  sell got less); only where both filled;
- **time to fill (s)** = last fill − the order's submit time, on each side;
- **fill ratio** = filled quantity / order quantity, on each side;
- **fees**: the commission each side booked; a group sums them.

A group (by symbol, side, order type, hour of day of the real submit in the trading
time zone, and ``all``) holds: orders, compared (both filled), the mean price
difference over compared orders, the mean times to fill over the orders that filled on
that side, the mean fill ratios over all its orders, and the fee totals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ordergate.domain.enums import Side
from ordergate.domain.fills import Fill
from ordergate.domain.money import BPS, ZERO, fmt
from ordergate.shadow.links import Link

_PLACES = {"bps": Decimal("0.01"), "s": Decimal("0.001"), "ratio": Decimal("0.0001")}
GROUPS = ("symbol", "side", "order_type", "hour")


def rounded(value: Decimal | None, kind: str) -> str | None:
    if value is None:
        return None
    return str(value.quantize(_PLACES[kind], rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """One side of a pair: what an order did (real at the broker, or on the twin)."""

    order_id: str
    status: str
    qty: Decimal
    submitted_at: datetime
    fills: tuple[Fill, ...]
    fees: Decimal

    @property
    def filled_qty(self) -> Decimal:
        return sum((f.last_qty for f in self.fills), ZERO)

    @property
    def avg_price(self) -> Decimal | None:
        filled = self.filled_qty
        if not filled:
            return None
        return sum((f.last_qty * f.last_px for f in self.fills), ZERO) / filled

    @property
    def fill_ratio(self) -> Decimal:
        return self.filled_qty / self.qty

    @property
    def time_to_fill(self) -> Decimal | None:
        if not self.fills:
            return None
        last = max(f.ts for f in self.fills)
        return Decimal(str((last - self.submitted_at).total_seconds()))


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    """A real order and its simulation (None: the twin has no such order)."""

    link: Link
    real: Outcome
    sim: Outcome | None
    arrival_price: Decimal | None

    @property
    def side(self) -> Side:
        return Side(self.link.side)

    def price_diff_bps(self) -> Decimal | None:
        real = self.real.avg_price
        sim = None if self.sim is None else self.sim.avg_price
        if real is None or sim is None:
            return None
        return self.side.sign * (sim - real) / real * BPS

    def hour(self, zone: ZoneInfo) -> int:
        return self.link.submitted_at.astimezone(zone).hour


def order_row(pair: Pair, zone: ZoneInfo) -> dict[str, Any]:
    real, sim, link = pair.real, pair.sim, pair.link
    return {
        "real_order_id": link.real_order_id,
        "real_client_order_id": link.real_client_order_id,
        "shadow_order_id": link.shadow_order_id,
        "real_parent_order_id": link.real_parent_order_id,
        "symbol": link.symbol,
        "side": link.side,
        "order_type": link.order_type,
        "hour": pair.hour(zone),
        "submitted_at": link.submitted_at.isoformat(),
        "qty": fmt(real.qty),
        "arrival_price": fmt(pair.arrival_price),
        "real_status": real.status,
        "sim_status": None if sim is None else sim.status,
        "real_avg_price": fmt(real.avg_price),
        "sim_avg_price": None if sim is None else fmt(sim.avg_price),
        "price_diff_bps": rounded(pair.price_diff_bps(), "bps"),
        "real_time_to_fill_s": rounded(real.time_to_fill, "s"),
        "sim_time_to_fill_s": None if sim is None else rounded(sim.time_to_fill, "s"),
        "real_fill_ratio": rounded(real.fill_ratio, "ratio"),
        "sim_fill_ratio": None if sim is None else rounded(sim.fill_ratio, "ratio"),
        "real_fees": fmt(real.fees),
        "sim_fees": None if sim is None else fmt(sim.fees),
    }


def _mean(values: Iterable[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, ZERO) / len(present) if present else None


def group_figures(pairs: Sequence[Pair]) -> dict[str, Any]:
    sims = [p.sim for p in pairs if p.sim is not None]
    diffs = [p.price_diff_bps() for p in pairs]
    return {
        "orders": len(pairs),
        "simulated": len(sims),
        "compared": sum(1 for d in diffs if d is not None),
        "mean_price_diff_bps": rounded(_mean(diffs), "bps"),
        "mean_real_time_to_fill_s": rounded(_mean(p.real.time_to_fill for p in pairs), "s"),
        "mean_sim_time_to_fill_s": rounded(_mean(s.time_to_fill for s in sims), "s"),
        "mean_real_fill_ratio": rounded(_mean(p.real.fill_ratio for p in pairs), "ratio"),
        "mean_sim_fill_ratio": rounded(_mean(s.fill_ratio for s in sims), "ratio"),
        "real_fees": fmt(sum((p.real.fees for p in pairs), ZERO)),
        "sim_fees": fmt(sum((s.fees for s in sims), ZERO)),
    }


def grouped(pairs: Sequence[Pair], zone: ZoneInfo) -> dict[str, list[dict[str, Any]]]:
    """The groups of every dimension, each sorted by its key; plus ``all``."""
    keys: dict[str, Callable[[Pair], Any]] = {
        "symbol": lambda p: p.link.symbol,
        "side": lambda p: p.link.side,
        "order_type": lambda p: p.link.order_type,
        "hour": lambda p: p.hour(zone),
    }
    out: dict[str, list[dict[str, Any]]] = {"all": [group_figures(pairs)]}
    for name, key in keys.items():
        buckets: dict[Any, list[Pair]] = {}
        for pair in pairs:
            buckets.setdefault(key(pair), []).append(pair)
        out[name] = [{name: k, **group_figures(buckets[k])} for k in sorted(buckets)]
    return out
