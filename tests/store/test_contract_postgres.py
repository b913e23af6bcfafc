"""The store contract on PostgreSQL, each test in a schema of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ordergate.store.base import Store

from .contract import StoreContract
from .pg import fresh_schema, server_url

pytestmark = pytest.mark.postgres


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        from ordergate.store.postgres import PostgresStore

        with fresh_schema(server_url()) as url:
            store = PostgresStore(url, min_size=1, max_size=4)
            store.migrate()
            yield store
            store.close()
