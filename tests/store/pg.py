"""A throwaway PostgreSQL schema per test, so runs in parallel never see each other."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    """The server to test against (``ORDERGATE_TEST_PG_URL``), or skip when it is down."""
    psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    url = os.environ.get("ORDERGATE_TEST_PG_URL", DEFAULT_URL)
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {url}: {exc}".splitlines()[0])
    return url


def with_search_path(url: str, schema: str) -> str:
    """``url`` with its sessions' search_path set to ``schema`` (one setting for all)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """Create an empty schema, yield the URL that uses it, drop it afterwards."""
    import psycopg

    schema = f"og_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
