"""Audit tests run on a keyed store: the audit key and the head checkpoint live in a
directory of the test's own, outside the database's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ordergate.store.checkpoint import AuditTrail, Checkpoint
from ordergate.store.sqlite import SqliteStore
from tests.obs.chainkit import KEY


@pytest.fixture(autouse=True)
def audit_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keys and checkpoints a command generates go here, never to the home directory."""
    path = tmp_path / "audit-state"
    monkeypatch.setenv("ORDERGATE_AUDIT_DIR", str(path))
    monkeypatch.delenv("ORDERGATE_AUDIT_KEY", raising=False)
    return path


@pytest.fixture
def trail(audit_dir: Path) -> AuditTrail:
    return AuditTrail(KEY, Checkpoint(audit_dir / "og.head", KEY, "og"))


@pytest.fixture
def store(tmp_path: Path, trail: AuditTrail) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "og.db", audit=trail)
    s.migrate()
    yield s
    s.close()
