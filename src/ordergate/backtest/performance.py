"""The figures a quant reads first, from the equity at every timestamp of a run.

- ``total_return``: final over starting equity, less one;
- ``cagr``: the total return compounded per year of the run's span (365.25 days);
  none where the span is too short for that to be a number;
- ``sharpe`` and ``sortino``: the mean period return over the risk-free rate, over the
  standard deviation of returns (sample, n − 1) or the downside deviation (returns
  under the rate only, over all n), times ``sqrt(periods_per_year)``;
- annualised by the data's bar frequency: data with a timestamp on a Saturday or
  Sunday is a 24/7 market, 365 days a year, other data 252 trading days; bars of a
  day or more (the most common gap between timestamps) count that many days each,
  intraday data the median number of timestamps a day (several symbols stamped at
  different times of day count each time). The annualisation is stated in the
  summary;
- ``max_drawdown_pct`` and ``max_drawdown_duration``: the deepest fall from a peak, as
  a share of the peak, and the longest time from a peak to the first time equity is
  back at it (or to the end of the run);
- ``exposure``: the share of periods with any position open;
- ``turnover``: traded notional over the mean equity.

Returns, ratios and shares are floats (figures, not money), rounded to 6 places so a
rerun prints the same text; the money figures stay Decimal.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from statistics import median
from typing import Any

DAY = timedelta(days=1)
GAP_SAMPLE = 10_000
SATURDAY = 5


@dataclass(slots=True)
class Performance:
    """Fed the equity once per timestamp (:meth:`add`), asked once at the end."""

    returns: array[float] = field(default_factory=lambda: array("d"))
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    previous: float = 0.0
    periods: int = 0
    exposed: int = 0
    equity_sum: float = 0.0
    peak: float = -math.inf
    peak_ts: datetime | None = None
    max_dd_pct: float = 0.0
    longest: timedelta = timedelta(0)
    under: bool = False
    weekend: bool = False
    #: the first timestamps, for the most common gap
    stamps: list[datetime] = field(default_factory=list)
    per_day: list[int] = field(default_factory=list)
    _day_end: datetime | None = None

    def add(self, ts: datetime, equity: Decimal, exposed: bool) -> None:
        # runs once a timestamp: the maxima kept with comparisons, not calls (the same
        # values: max keeps the first of equals)
        value = float(equity)
        periods = self.periods
        if self.last_ts is None:
            self.first_ts = ts
            self.stamps.append(ts)
        else:
            previous = self.previous
            if previous:
                self.returns.append(value / previous - 1.0)
            if periods < GAP_SAMPLE:
                self.stamps.append(ts)
        day_end = self._day_end
        if day_end is None or ts >= day_end:
            self._new_day(ts)
        self.per_day[-1] += 1
        self.last_ts, self.previous = ts, value
        self.periods = periods + 1
        if exposed:
            self.exposed += 1
        self.equity_sum += value
        peak = self.peak
        if value >= peak:
            if self.under and self.peak_ts is not None:  # back at the peak
                span = ts - self.peak_ts
                if span > self.longest:  # noqa: PLR1730 (see above)
                    self.longest = span
            self.peak, self.peak_ts, self.under = value, ts, False
        else:
            self.under = True
            if peak > 0:
                drawdown = (peak - value) / peak
                if drawdown > self.max_dd_pct:  # noqa: PLR1730 (see above)
                    self.max_dd_pct = drawdown

    def _new_day(self, ts: datetime) -> None:
        day = ts.date()
        self._day_end = datetime.combine(day + DAY, time(0), tzinfo=ts.tzinfo)
        self.per_day.append(0)
        if day.weekday() >= SATURDAY:
            self.weekend = True

    def annualisation(self) -> tuple[float, str]:
        """Periods a year, and how that was decided."""
        stamps = self.stamps
        gaps = Counter(b - a for a, b in pairwise(stamps))
        if not gaps:
            return 252.0, "one timestamp: 252 periods a year assumed"
        top = max(gaps.values())
        period = min(gap for gap, count in gaps.items() if count == top)
        days, kind = (365, "days a year (24/7 data)") if self.weekend else (252, "trading days")
        if period >= DAY:
            return days * (DAY / period), f"{days} {kind} of {period} bars"
        bars = median(self.per_day)
        return days * bars, f"{days} {kind} × {bars:g} timestamps a day"

    def summary(
        self, start: Decimal, end: Decimal, traded: Decimal, risk_free: Decimal
    ) -> dict[str, Any]:
        per_year, basis = self.annualisation()
        rate = float(risk_free)
        per_period = (1.0 + rate) ** (1.0 / per_year) - 1.0
        returns = self.returns
        n = len(returns)
        sharpe = sortino = None
        if n >= 2:
            mean = math.fsum(returns) / n
            var = math.fsum([(r - mean) ** 2 for r in returns]) / (n - 1)
            excess = mean - per_period
            scale = math.sqrt(per_year)
            if var > 0:
                sharpe = excess / math.sqrt(var) * scale
            # min(d, 0.0) written out (the same value, a NaN included)
            below = [(0.0 if (d := r - per_period) > 0.0 else d) ** 2 for r in returns]
            down = math.fsum(below) / n
            if down > 0:
                sortino = excess / math.sqrt(down) * scale
        total = (end - start) / start if start else None
        span = (self.last_ts - self.first_ts) if self.last_ts and self.first_ts else None
        years = span / (DAY * 365.25) if span else 0.0
        cagr = None
        if total is not None and years > 0 and end > 0:
            try:
                cagr = float(end / start) ** (1.0 / years) - 1.0
            except OverflowError:
                cagr = None  # a span too short to compound into a yearly rate
        longest = self.longest
        if self.under and self.peak_ts is not None and self.last_ts is not None:
            longest = max(longest, self.last_ts - self.peak_ts)
        mean_equity = self.equity_sum / self.periods if self.periods else 0.0
        return {
            "total_return": _round(float(total)) if total is not None else None,
            "cagr": _round(cagr),
            "sharpe": _round(sharpe),
            "sortino": _round(sortino),
            "annualisation": {
                "periods_per_year": _round(per_year),
                "basis": basis,
                "risk_free_rate": str(risk_free),
            },
            "max_drawdown_pct": _round(self.max_dd_pct),
            "max_drawdown_duration": str(longest),
            "exposure": _round(self.exposed / self.periods) if self.periods else None,
            "turnover": _round(float(traded) / mean_equity) if mean_equity > 0 else None,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
