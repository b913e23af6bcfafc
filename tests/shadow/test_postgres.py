"""The twin on PostgreSQL: its own database (schema here), the link tables in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ordergate.bootstrap import build_runtime, build_twin
from ordergate.config import load_settings
from tests.store.pg import fresh_schema, server_url

from .kit import buy


@pytest.fixture
def twin_url() -> Iterator[str]:
    with fresh_schema(server_url()) as url:
        yield url


def test_a_postgresql_twin_keeps_its_links_marks_and_drops(tmp_path: Path, twin_url: str) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'real.db'}", shadow=True, shadow_database_url=twin_url
    )
    runtime = build_runtime(settings)
    # the root attaches it itself once bootstrap builds the twin; until then, we do
    shadow = runtime.shadow
    assert shadow is not None
    runtime.engine.mark("AAPL", "100", volume="1000")
    report = runtime.engine.submit(buy("pg1"))
    runtime.engine.submit(buy("pg1"))  # a replay: nothing new went out
    assert shadow.drain()
    shadow.twin.links.add_to_counter("dropped", 2)
    shadow.twin.links.add_to_counter("dropped", 1)
    shadow.close()
    runtime.engine.store.close()

    twin = build_twin(settings)
    try:
        [link] = twin.links.links()
        assert link.real_order_id == report.order_id
        assert twin.engine.order(link.shadow_order_id).filled_qty == 10
        assert [m.volume for m in twin.links.marks("AAPL")] == [1000]
        assert twin.links.counter("dropped") == 3
    finally:
        twin.close()
