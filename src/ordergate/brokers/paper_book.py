"""The paper broker's book on disk: a small SQLite file, one row per order.

Separate ``ordergate`` commands (and ``ordergate serve`` beside them) share one paper
account through it. Each change takes the file's write lock (``BEGIN IMMEDIATE``),
reloads the book only when another process has written since (a version counter), and
writes back only the orders the change touched — so a change costs the same with ten
orders on the book as with a million.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ordergate.domain.errors import BrokerUnavailable
from ordergate.sim.state import mark_from_json, mark_of, order_from_json, order_to_json
from ordergate.sim.venue import SimulatedVenue

_SCHEMA = """
CREATE TABLE IF NOT EXISTS paper_orders (client_order_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS paper_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class PaperBookFile:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._conn.execute("PRAGMA journal_mode = WAL")
            # a simulated venue: survive a process crash (WAL), skip the fsync per change
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise BrokerUnavailable(f"cannot open the paper book at {self.path}: {exc}") from exc
        self._version = -1

    @contextmanager
    def locked(self, venue: SimulatedVenue, *, write: bool = True) -> Iterator[set[str]]:
        """Hold the book's lock around a look at (``write=False``) or a change of
        ``venue``, brought up to date first. A change adds the client order ids it
        touched to the yielded set; only those are written back."""
        touched: set[str] = set()
        try:
            self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            self.refresh(venue)
            yield touched
            if write:
                self._save(venue, touched)
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise BrokerUnavailable(f"the paper book failed: {exc}") from exc
        except BaseException:
            self._rollback()
            raise

    def refresh(self, venue: SimulatedVenue) -> None:
        """Reload the whole book when another process changed it since we last looked."""
        version = self._meta("version")
        stored = int(version) if version is not None else 0
        if stored == self._version:
            return
        rows = self._conn.execute("SELECT data FROM paper_orders").fetchall()
        orders = {}
        for (data,) in rows:
            order = order_from_json(json.loads(data))
            orders[order.request.client_order_id] = order
        marks = json.loads(self._meta("marks") or "{}")
        inflight = json.loads(self._meta("inflight") or "[]")
        venue.restore(
            orders,
            {k: mark_from_json(v) for k, v in marks.items()},
            next_order=int(self._meta("next_id") or 1),
            next_exec=int(self._meta("next_exec") or 1),
            inflight=[
                (datetime.fromisoformat(at), int(seq), str(kind), str(cid))
                for at, seq, kind, cid in inflight
            ],
        )
        self._version = stored

    def _save(self, venue: SimulatedVenue, touched: Iterable[str]) -> None:
        rows = [
            (cid, json.dumps(order_to_json(venue.orders[cid])))
            for cid in touched
            if cid in venue.orders
        ]
        self._conn.executemany(
            "INSERT INTO paper_orders (client_order_id, data) VALUES (?, ?) "
            "ON CONFLICT (client_order_id) DO UPDATE SET data = excluded.data",
            rows,
        )
        self._version += 1
        meta = {
            "version": str(self._version),
            "next_id": str(venue.next_order),
            "next_exec": str(venue.next_exec),
            "marks": json.dumps({k: mark_of(v).to_dict() for k, v in venue.last_events.items()}),
            "inflight": json.dumps(
                [[at.isoformat(), seq, kind, cid] for at, seq, kind, cid in venue.inflight]
            ),
        }
        self._conn.executemany(
            "INSERT INTO paper_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(meta.items()),
        )

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM paper_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the next BEGIN reports a broken connection

    def close(self) -> None:
        self._conn.close()
