"""Market state the engine is told about: the last trade, the quote and volume."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.domain.errors import InvalidIntent
from ordergate.domain.frozen import fast_init
from ordergate.domain.money import fmt, parse_decimal


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Mark:
    """A snapshot of one symbol's market: ``last`` and optionally ``bid``/``ask``/``volume``."""

    symbol: str
    last: Decimal
    ts: datetime
    bid: Decimal | None = None
    ask: Decimal | None = None
    volume: Decimal | None = None
    #: The source's sequence number of this mark (the bus stream's, for a mark from
    #: ``market.*``): a mark with one takes effect only over an older one, so a
    #: redelivered or late copy never takes a price back. A mark without one (``ordergate
    #: mark``, ``POST /v1/marks``) always takes effect and keeps the number in effect.
    seq: int | None = None

    def newer_than(self, current: Mark | None) -> bool:
        """Whether this mark may replace ``current`` (see :attr:`seq`)."""
        return self.seq is None or current is None or current.seq is None or self.seq > current.seq

    def __post_init__(self) -> None:
        if self.bid is not None and self.ask is not None and self.bid > self.ask:
            raise InvalidIntent("bid", f"bid {fmt(self.bid)} is above ask {fmt(self.ask)}")

    @classmethod
    def parse(cls, symbol: str, data: Mapping[str, Any], ts: datetime) -> Mark:
        last = data.get("last", data.get("ltp", data.get("price")))
        if last is None:
            raise InvalidIntent("last", f"a mark for {symbol} needs a last price")

        # read in line, not through a helper per field: a backtest marks every tick
        bid, ask, volume = data.get("bid"), data.get("ask"), data.get("volume")
        return cls(
            symbol=symbol.upper(),
            last=parse_decimal(last, "last", positive=True),
            bid=None if bid is None else parse_decimal(bid, "bid", positive=True),
            ask=None if ask is None else parse_decimal(ask, "ask", positive=True),
            volume=None if volume is None else parse_decimal(volume, "volume"),
            ts=ts,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "last": fmt(self.last),
            "bid": fmt(self.bid),
            "ask": fmt(self.ask),
            "volume": fmt(self.volume),
            "ts": self.ts.isoformat(),
        }


def market_state_entries(
    symbol: str, market_state: Mapping[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """Seed 000's ``market_state``: ``{"last": ..}`` for the intent's symbol, or
    ``{"AAPL": {"last": ..}, ..}``; as (symbol, fields of :meth:`Mark.parse`) pairs."""
    if any(k in market_state for k in ("last", "ltp", "price")):
        return [(str(market_state.get("symbol", symbol)), _mark_fields(market_state))]
    return [
        (str(sym), _mark_fields(data))
        for sym, data in market_state.items()
        if isinstance(data, Mapping)
    ]


def _mark_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    last = data.get("last", data.get("ltp", data.get("price")))
    return {
        "last": last,
        "bid": data.get("bid"),
        "ask": data.get("ask"),
        "volume": data.get("volume"),
    }
