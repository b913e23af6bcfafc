"""What a long backtest writes as it goes and reads back for its result: a scratch file.

The closed round trips (:mod:`~ordergate.backtest.roundtrips`) and the venue's first
price of each order (for TCA) would grow with the run; the spool keeps them in a
temporary SQLite file instead, written in batches, with Decimals as their exact text
(``str``), so what is read back is what was written, digit for digit and exponent for
exponent. :class:`TripRows` is the result's view of the trips: a sequence read from
the file when asked, never held whole. The file is unlinked as soon as it is made (the
connection holds it), so nothing outlives the run, even a killed one.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, overload

from ordergate.backtest.roundtrips import RoundTrip

TRIP_FIELDS = (
    "symbol",
    "direction",
    "opened",
    "closed",
    "qty",
    "bought",
    "bought_value",
    "sold",
    "sold_value",
    "fees",
    "fills",
    "position",
)
_DECIMALS = frozenset({"qty", "bought", "bought_value", "sold", "sold_value", "fees", "position"})
SCHEMA = f"""
CREATE TABLE trips (id INTEGER PRIMARY KEY, {", ".join(TRIP_FIELDS)});
CREATE TABLE first_prices (client_order_id TEXT PRIMARY KEY, px TEXT NOT NULL) WITHOUT ROWID;
"""
PAGE = 10_000


class Spool:
    """Round trips and first prices of one run, on a temporary file."""

    def __init__(self, batch: int = 8192) -> None:
        directory = tempfile.mkdtemp(prefix="ordergate-spool-")
        path = Path(directory) / "spool.db"
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = OFF")  # no journal: one file, held open
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.executescript(SCHEMA)
        # unlinked at once: the open connection keeps it, and a killed run leaves nothing
        path.unlink()
        os.rmdir(directory)
        weakref.finalize(self, self._conn.close)
        self._batch = batch
        self._trips: list[tuple[Any, ...]] = []
        self._firsts: list[tuple[str, str]] = []
        self.trip_count = 0

    def add_trip(self, trip: RoundTrip) -> None:
        self._trips.append(
            tuple(
                str(getattr(trip, name)) if name in _DECIMALS else getattr(trip, name)
                for name in TRIP_FIELDS
            )
        )
        self.trip_count += 1
        if len(self._trips) >= self._batch:
            self.flush()

    def add_first_price(self, client_order_id: str, px: Decimal) -> None:
        self._firsts.append((client_order_id, str(px)))
        if len(self._firsts) >= self._batch:
            self.flush()

    def flush(self) -> None:
        conn = self._conn
        conn.execute("BEGIN")
        if self._trips:
            marks = ", ".join("?" * len(TRIP_FIELDS))
            conn.executemany(
                f"INSERT INTO trips ({', '.join(TRIP_FIELDS)}) VALUES ({marks})", self._trips
            )
        if self._firsts:
            conn.executemany("INSERT OR REPLACE INTO first_prices VALUES (?, ?)", self._firsts)
        conn.execute("COMMIT")
        self._trips.clear()
        self._firsts.clear()

    def trips(self, start: int = 0, stop: int | None = None) -> Iterator[RoundTrip]:
        """The closed trips ``start`` to ``stop`` (0-based, in closing order), a page at a
        time."""
        self.flush()
        end = self.trip_count if stop is None else min(stop, self.trip_count)
        at = start
        while at < end:
            rows = self._conn.execute(
                f"SELECT {', '.join(TRIP_FIELDS)} FROM trips WHERE id > ? ORDER BY id LIMIT ?",
                (at, min(PAGE, end - at)),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                values = dict(zip(TRIP_FIELDS, row, strict=True))
                for name in _DECIMALS:
                    values[name] = Decimal(values[name])
                yield RoundTrip(**values)
            at += len(rows)

    def first_prices(self, client_order_ids: Sequence[str]) -> dict[str, Decimal]:
        """The first prices of these orders that the venue saw trade (at most 500 ids)."""
        self.flush()
        if not client_order_ids:
            return {}
        marks = ", ".join("?" * len(client_order_ids))
        rows = self._conn.execute(
            f"SELECT client_order_id, px FROM first_prices WHERE client_order_id IN ({marks})",
            tuple(client_order_ids),
        ).fetchall()
        return {cid: Decimal(px) for cid, px in rows}


class TripRows(Sequence[dict[str, Any]]):
    """The round trips' rows (``RoundTrip.to_dict``), read from the spool when asked."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool

    def __len__(self) -> int:
        return self._spool.trip_count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (trip.to_dict() for trip in self._spool.trips())

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        n = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return [t.to_dict() for t in self._spool.trips(start, stop)]
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        return next(self._spool.trips(index, index + 1)).to_dict()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]
