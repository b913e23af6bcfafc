"""Shared fixtures: an engine on a fresh SQLite store with a simulated clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.sqlite import SqliteStore


@pytest.fixture(autouse=True, scope="session")
def _audit_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Audit keys and checkpoints the tests' stores generate stay out of the home
    directory (``audit_dir``; a subprocess inherits it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ORDERGATE_AUDIT_DIR", str(tmp_path_factory.mktemp("audit-state")))
        yield


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "og.db")
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def paper(clock: SimulatedClock) -> PaperBroker:
    return PaperBroker(clock=clock)


@pytest.fixture
def engine(store: SqliteStore, paper: PaperBroker, clock: SimulatedClock) -> ExecutionEngine:
    return ExecutionEngine(store, paper, clock=clock, ids=SequentialIds())
