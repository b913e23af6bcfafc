"""Tables of a backtest to files: CSV (standard library) or Parquet (pyarrow).

Every column is written as text, exactly as the result holds it: Decimals keep their
digits, times their ISO 8601 form, and a value that is absent is an empty cell (a null
in Parquet). The file type is told by the name: ``.csv`` or ``.parquet``/``.pq``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ordergate.domain.errors import ConfigError


def write_rows(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Write ``rows`` (dicts) to ``path`` with ``columns`` in that order."""
    name = path.name.lower()
    if name.endswith(".csv"):
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if row.get(c) is None else str(row[c]) for c in columns])
        return
    if name.endswith((".parquet", ".pq")):
        try:
            import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
            import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
        except ImportError as exc:
            raise ConfigError(
                "writing Parquet needs pyarrow: pip install 'ordergate[backtest]'"
            ) from exc
        data = {
            c: pa.array([None if r.get(c) is None else str(r[c]) for r in rows], pa.string())
            for c in columns
        }
        pq.write_table(pa.table(data), path)
        return
    raise ConfigError(f"unknown table file type: {path.name} (use .csv or .parquet)")


TRADE_COLUMNS = (
    "trade_id",
    "timestamp",
    "ticker",
    "direction",
    "size",
    "price",
    "order_id",
    "strategy_id",
    "decision_id",
    "profile_version_id",
    "regime_id",
    "universe_id",
)
ROUND_TRIP_COLUMNS = (
    "symbol",
    "direction",
    "opened",
    "closed",
    "qty",
    "entry_avg",
    "exit_avg",
    "gross_pnl",
    "fees",
    "pnl",
    "fills",
)
