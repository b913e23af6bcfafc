"""The parent-order book's contract, on every backend: SQLite (a file, ``:memory:``),
the in-memory store and PostgreSQL (a schema of its own)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.algos.parent import ParentOrder, ParentStatus
from ordergate.domain.intent import OrderIntent
from ordergate.store.base import DuplicateKey, StaleOrder
from ordergate.store.memory import MemoryStore
from ordergate.store.parents import ParentBook, parent_book_for
from ordergate.store.sqlite import SqliteStore

from .pg import fresh_schema, server_url

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "sqlite-memory", "memory", "postgres"])
def book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ParentBook]:
    kind = request.param
    if kind == "postgres":
        from ordergate.store.postgres import PostgresStore

        with fresh_schema(server_url()) as url:
            pg = PostgresStore(url, min_size=1, max_size=4)
            pg.migrate()
            yield parent_book_for(pg)
            pg.close()
        return
    store: Any = (
        SqliteStore(tmp_path / "og.db")
        if kind == "sqlite"
        else SqliteStore(":memory:")
        if kind == "sqlite-memory"
        else MemoryStore()
    )
    store.migrate()
    yield parent_book_for(store)
    store.close()


def parent(n: int, key: str = "", **changes: Any) -> ParentOrder:
    intent = OrderIntent.parse(
        {
            "idempotency_key": key or f"p{n}",
            "symbol": "AAPL",
            "side": "BUY",
            "qty": "100",
            "order_type": "LIMIT",
            "limit_price": "101.25",
            "algo": {"kind": "twap", "horizon_s": 60, "slices": 3},
        }
    )
    base = ParentOrder(
        parent_id=f"alg_{n:04d}",
        intent=intent,
        payload_hash=intent.payload_hash(),
        status=ParentStatus.WORKING,
        qty=intent.qty,
        limit_price=intent.limit_price,
        created_at=T0 + timedelta(seconds=n),
        updated_at=T0 + timedelta(seconds=n),
        arrival_price=Decimal("100.5"),
    )
    return base if not changes else base.with_(T0, **changes)


def test_a_parent_reads_back_as_written(book: ParentBook) -> None:
    written = parent(1)
    book.insert(written)
    assert book.get("alg_0001") == written
    assert book.find("default", "p1") == written
    assert book.get("alg_none") is None
    assert book.find("default", "none") is None


def test_the_key_is_unique_per_account(book: ParentBook) -> None:
    book.insert(parent(1))
    with pytest.raises(DuplicateKey):
        book.insert(parent(2, key="p1"))


def test_an_update_is_optimistic(book: ParentBook) -> None:
    first = parent(1)
    book.insert(first)
    moved = first.with_(T0, qty=Decimal(80), market_volume=Decimal("1234.5"), slices=3)
    book.update(moved)
    assert book.get("alg_0001") == moved
    with pytest.raises(StaleOrder):
        book.update(first.with_(T0, qty=Decimal(70)))  # from the old version


def test_working_lists_the_open_parents_oldest_first(book: ParentBook) -> None:
    for n in (3, 1, 2):
        book.insert(parent(n))
    done = book.get("alg_0002")
    assert done is not None
    book.update(done.with_(T0, status=ParentStatus.COMPLETED))
    assert [p.parent_id for p in book.working()] == ["alg_0001", "alg_0003"]
    assert [p.parent_id for p in book.latest(2)] == ["alg_0003", "alg_0002"]


def test_concurrent_inserts_of_one_key_keep_one(book: ParentBook) -> None:
    won: list[int] = []

    def insert(n: int) -> None:
        try:
            book.insert(parent(n, key="same"))
            won.append(n)
        except DuplicateKey:
            pass

    threads = [threading.Thread(target=insert, args=(n,)) for n in range(1, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
