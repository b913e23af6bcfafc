"""The backtest store's event log as Parquet parts: one file per batch, LZ4-compressed.

The event log is most of what a backtest writes (five or so events of a kilobyte of
JSON per order); as columns, compressed, it costs a fraction of an SQLite insert and
of the disk. Each batch is a complete file (``events-000001.parquet``), so the log is
readable at any moment without closing a writer. An event's outbox id is its ``seq``.
pyarrow comes with the ``backtest`` extra; :func:`parquet_available` says whether it
is installed (the store keeps its events in its SQLite file otherwise).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from typing import Any

COLUMNS = ("seq", "order_id", "topic", "from_status", "to_status", "payload", "ts")
_DICTIONARY = ["order_id", "topic", "from_status", "to_status", "ts"]
_STATS = ["seq", "order_id"]


def parquet_available() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


class ParquetEvents:
    """Parts of the event log in ``directory``, in seq order."""

    def __init__(self, directory: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa, self._pq = pa, pq
        self._dir = directory
        #: (first seq, last seq, path) of each part
        self._parts: list[tuple[int, int, str]] = []

    def append(self, columns: Sequence[Sequence[Any]]) -> None:
        """One part from the columns of :data:`COLUMNS` (seq ascending).

        Only the short, repeating columns are dictionary-encoded and only the columns a
        read filters on carry statistics: a payload is unique, and trying a dictionary
        and min/max on it was a tenth of the write.
        """
        seqs = columns[0]
        if not seqs:
            return
        pa = self._pa
        table = pa.table(
            {
                "seq": pa.array(seqs, pa.int64()),
                **{
                    name: pa.array(values, pa.string())
                    for name, values in zip(COLUMNS[1:], columns[1:], strict=True)
                },
            }
        )
        path = os.path.join(self._dir, f"events-{len(self._parts) + 1:06d}.parquet")
        self._pq.write_table(
            table, path, compression="lz4", use_dictionary=_DICTIONARY, write_statistics=_STATS
        )
        self._parts.append((seqs[0], seqs[-1], path))

    def after(self, last_id: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` events with a seq above ``last_id``, as rows by column name."""
        out: list[dict[str, Any]] = []
        for _, last, path in self._parts:
            if last <= last_id:
                continue
            rows = self._pq.read_table(path).to_pylist()
            out.extend(r for r in rows if r["seq"] > last_id)
            if len(out) >= limit:
                return out[:limit]
        return out

    def of_order(self, order_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for _, _, path in self._parts:
            table = self._pq.read_table(path, filters=[("order_id", "=", order_id)])
            out.extend(table.to_pylist())
        return out
