"""The ledger of IB order ids: ``client_order_id`` → the IB order id, durable first.

IB dedupes nothing by ``orderRef``; the only unique key is (client id, order id), and
order ids come from ``nextValidId``. The adapter writes the id it is about to use here
and commits (``synchronous=FULL``) **before** ``placeOrder``. That makes a look-up miss
provable (see ``IbkrBroker.fetch_order``):

- no row for a ``client_order_id``: ``placeOrder`` was never called for it;
- a row with order id ``n``, and TWS reports ``nextValidId <= n`` now: TWS never
  received order ``n`` (TWS hands out ids above every id it has seen from the client).

One SQLite file per client id; the client id is held by one process at a time (TWS
refuses a second connection with error 326), so one writer.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ordergate.domain.errors import BrokerUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ib_order_ids (
    client_order_id TEXT PRIMARY KEY,
    order_id INTEGER NOT NULL,
    ib_client_id INTEGER NOT NULL,
    perm_id INTEGER,
    placed_at TEXT NOT NULL,
    parent_client_order_id TEXT
)
"""


@dataclass(frozen=True, slots=True)
class Placed:
    client_order_id: str
    order_id: int
    ib_client_id: int
    perm_id: int | None


class IdLedger:
    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def reserve(
        self, client_order_id: str, order_id: int, ib_client_id: int, parent: str | None = None
    ) -> None:
        """Durably note that ``order_id`` is about to carry ``client_order_id`` (and
        which order it protects, where IB's ``parentId`` does not say it).

        A failure raises :class:`BrokerUnavailable`: nothing was sent."""
        now = datetime.now(UTC).isoformat()
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO ib_order_ids VALUES (?, ?, ?, NULL, ?, ?) "
                    "ON CONFLICT (client_order_id) DO UPDATE SET order_id = excluded.order_id,"
                    " ib_client_id = excluded.ib_client_id, perm_id = NULL,"
                    " placed_at = excluded.placed_at",
                    (client_order_id, order_id, ib_client_id, now, parent),
                )
        except sqlite3.Error as exc:
            raise BrokerUnavailable(
                f"the IB order id ledger cannot be written ({exc}); nothing was sent",
                context={"client_order_id": client_order_id},
            ) from exc

    def note_perm_id(self, client_order_id: str, perm_id: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE ib_order_ids SET perm_id = ? WHERE client_order_id = ?",
                (perm_id, client_order_id),
            )

    def get(self, client_order_id: str) -> Placed | None:
        with self._lock:
            row = self._db.execute(
                "SELECT client_order_id, order_id, ib_client_id, perm_id FROM ib_order_ids "
                "WHERE client_order_id = ?",
                (client_order_id,),
            ).fetchone()
        return None if row is None else Placed(row[0], int(row[1]), int(row[2]), row[3])

    def parents(self) -> dict[str, str]:
        """Every child's parent ``client_order_id``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT client_order_id, parent_client_order_id FROM ib_order_ids "
                "WHERE parent_client_order_id IS NOT NULL"
            ).fetchall()
        return {str(child): str(parent) for child, parent in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()
