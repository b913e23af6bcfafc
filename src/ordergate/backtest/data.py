"""Reading market data for a backtest from CSV or Parquet, with pyarrow.

pyarrow (the ``backtest`` extra) is imported only here and only when a file is read.
CSV columns are read as text so that prices go straight to Decimal without passing
through a float; Parquet float columns are converted through their shortest repr
(``Decimal(str(x))``), decimal columns exactly.

What a file holds is told by its columns (case-insensitive):

- bars: ``open, high, low, close`` (+ ``volume``, optional ``start``);
- quotes: ``bid, ask`` (+ ``bid_size, ask_size``);
- trades/marks: ``price`` or ``last`` (+ ``volume`` or ``size``).

Every file needs a time column (``ts``, ``timestamp``, ``time``, ``datetime`` or
``date``): ISO 8601 text or a timestamp type; a time without a zone is UTC. A
``symbol`` column is optional (``default_symbol`` otherwise, else the file's name).
Rows are returned in time order; rows at the same time keep their file order.
:func:`load_many` merges several files (bars and quotes in one run) by time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ordergate.domain.errors import ConfigError
from ordergate.domain.market import Mark
from ordergate.sim.data import Bar, MarketEvent, Quote, Trade

TIME_COLUMNS = ("ts", "timestamp", "time", "datetime", "date")


def load_events(path: str | Path, *, default_symbol: str | None = None) -> list[MarketEvent]:
    """Read ``path`` (``.csv``, ``.csv.gz``, ``.parquet``/``.pq``) into market events."""
    columns = _read_columns(Path(path))
    return events_from_columns(columns, default_symbol=default_symbol or _stem(Path(path)))


def load_many(
    paths: Sequence[str | Path], *, default_symbol: str | None = None
) -> list[MarketEvent]:
    """Several files (bars from one, quotes from another …) merged by time; at one
    time, the first file's rows come first."""
    if len(paths) == 1:
        return load_events(paths[0], default_symbol=default_symbol)
    merged: list[MarketEvent] = []
    for path in paths:
        merged.extend(load_events(path, default_symbol=default_symbol))
    merged.sort(key=_ts)  # stable: file order at one time
    return merged


def _ts(event: MarketEvent) -> datetime:
    return event.ts


def _stem(path: Path) -> str:
    return path.name.split(".")[0].upper()


def _read_columns(path: Path) -> dict[str, list[Any]]:
    try:
        import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
        import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:
        raise ConfigError(
            "reading market data needs pyarrow: pip install 'ordergate[backtest]'"
        ) from exc
    if not path.exists():
        raise ConfigError(f"no such data file: {path}")
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        table = pq.read_table(path)
    elif name.endswith((".csv", ".csv.gz", ".csv.bz2")):
        with pacsv.open_csv(path) as reader:  # reads only the first block, for the names
            names = reader.schema.names
        as_text = {col: pa.string() for col in names}
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=as_text))
    else:
        raise ConfigError(f"unknown data file type: {path.name} (use .csv or .parquet)")
    return {col.lower(): table.column(col).to_pylist() for col in table.column_names}


def events_from_columns(
    columns: dict[str, list[Any]], *, default_symbol: str = "SYMBOL"
) -> list[MarketEvent]:
    """Build events from column lists (lower-case names); see the module docstring."""
    time_column = next((c for c in TIME_COLUMNS if c in columns), None)
    if time_column is None:
        raise ConfigError(f"market data needs a time column: one of {', '.join(TIME_COLUMNS)}")
    times = [_time(v, time_column) for v in columns[time_column]]
    count = len(times)
    symbols = [str(s).upper() for s in columns["symbol"]] if "symbol" in columns else None

    def num(name: str) -> list[Decimal | None]:
        values = columns.get(name)
        return [None] * count if values is None else [_decimal(v, name) for v in values]

    def req(name: str) -> list[Decimal]:
        values = num(name)
        if any(v is None for v in values):
            raise ConfigError(f"market data column {name!r} has empty values")
        return [v for v in values if v is not None]

    build: Callable[[int, str, datetime], MarketEvent]
    if {"open", "high", "low", "close"} <= columns.keys():
        o, h, lo, c, vol = req("open"), req("high"), req("low"), req("close"), num("volume")
        starts = [
            None if v is None else _time(v, "start") for v in columns.get("start", [None] * count)
        ]

        def build(i: int, sym: str, ts: datetime) -> MarketEvent:
            return Bar(
                symbol=sym,
                ts=ts,
                open=o[i],
                high=h[i],
                low=lo[i],
                close=c[i],
                volume=vol[i],
                start=starts[i],
            )

    elif {"bid", "ask"} <= columns.keys():
        bid, ask, bs, az = req("bid"), req("ask"), num("bid_size"), num("ask_size")

        def build(i: int, sym: str, ts: datetime) -> MarketEvent:
            return Quote(symbol=sym, ts=ts, bid=bid[i], ask=ask[i], bid_size=bs[i], ask_size=az[i])

    elif "price" in columns or "last" in columns:
        px = req("price" if "price" in columns else "last")
        size = num("size" if "size" in columns else "volume")
        as_mark = "last" in columns

        def build(i: int, sym: str, ts: datetime) -> MarketEvent:
            if as_mark:
                return Mark(symbol=sym, last=px[i], volume=size[i], ts=ts)
            return Trade(symbol=sym, ts=ts, price=px[i], size=size[i])

    else:
        raise ConfigError("market data needs open/high/low/close, bid/ask, or price/last columns")
    events = [build(i, symbols[i] if symbols else default_symbol, times[i]) for i in range(count)]
    order = sorted(range(count), key=lambda i: times[i])
    return [events[i] for i in order]


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ConfigError(f"market data column {name!r}: not a number: {value!r}") from None


def _time(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, date):
        when = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"market data column {name!r}: not an ISO time: {value!r}") from None
    else:
        raise ConfigError(f"market data column {name!r}: not a time: {value!r}")
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def symbols_of(events: Sequence[MarketEvent]) -> list[str]:
    return sorted({e.symbol for e in events})
