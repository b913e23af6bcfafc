"""Builders for backtest tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ordergate.sim.data import Bar

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def bars(closes: list[str], *, volume: str = "10000", symbol: str = "AAPL") -> list[Bar]:
    """Bars that open at the previous close, 1 minute apart, high/low 0.5 around."""
    out = []
    previous = Decimal(closes[0])
    for i, text in enumerate(closes):
        close = Decimal(text)
        out.append(
            Bar(
                symbol=symbol,
                ts=T0 + timedelta(minutes=i + 1),
                open=previous,
                high=max(previous, close) + Decimal("0.5"),
                low=min(previous, close) - Decimal("0.5"),
                close=close,
                volume=Decimal(volume),
            )
        )
        previous = close
    return out


def wave(n: int) -> list[str]:
    """A deterministic up-and-down series of closes around 100."""
    return [str(Decimal(100) + Decimal((i * 7) % 23 - 11) / 4) for i in range(n)]
