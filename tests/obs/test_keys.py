"""The audit key, the head checkpoint, the seal and the upgrade of an unkeyed database."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.config import load_settings
from ordergate.domain.errors import ConfigError
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.keys import audit_trail, database_label, load_key
from ordergate.obs.retention import RetentionPolicy, purge
from ordergate.store.checkpoint import SLOT, AuditTrail, Checkpoint
from ordergate.store.sqlite import SqliteStore
from tests.obs.chainkit import KEY, fill_orders, named, raw, tamperable, verify


def test_a_key_is_generated_once_0600_outside_the_database_directory(
    tmp_path: Path, audit_dir: Path
) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'db' / 'og.db'}")
    assert load_key(settings, create=False) is None
    key = load_key(settings, create=True)
    assert key is not None
    assert len(key) == 32
    (path,) = audit_dir.glob("og.db-*.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.parent != tmp_path / "db"
    assert load_key(settings, create=True) == key  # the same key on every later use
    other = load_key(load_settings(database_url=f"sqlite:///{tmp_path / 'other.db'}"), create=True)
    assert other != key  # one key per database


def test_the_key_from_the_settings_wins_and_must_be_long_enough(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERGATE_AUDIT_KEY", KEY.hex())
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'og.db'}")
    assert load_key(settings, create=True) == KEY
    assert settings.shown()["audit_key"] == "***"  # a secret: never shown
    monkeypatch.setenv("ORDERGATE_AUDIT_KEY", "short")
    with pytest.raises(ConfigError, match="too short"):
        load_key(load_settings(), create=True)


def test_bootstrap_keys_and_checkpoints_a_file_store(tmp_path: Path, audit_dir: Path) -> None:
    from ordergate.bootstrap import build_store

    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'og.db'}")
    store = build_store(settings)
    assert isinstance(store, SqliteStore)
    assert store.audit is not None
    fill_orders(ExecutionEngine(store, PaperBroker()), "b", 2)
    store.close()
    label = database_label(settings)
    state = Checkpoint(audit_dir / f"{label}.head", store.audit.key, str(label)).read()
    assert state.seq == 8
    assert audit_trail(load_settings(database_url="sqlite:///:memory:")) is None


def test_the_checkpoint_follows_every_commit_and_never_goes_back(
    engine: ExecutionEngine, store: SqliteStore, trail: AuditTrail
) -> None:
    assert trail.checkpoint is not None
    fill_orders(engine, "c", 1)
    assert trail.checkpoint.read().seq == 4
    fill_orders(engine, "d", 1)
    assert trail.checkpoint.read().seq == 8
    trail.checkpoint.write(5, "f" * 64)  # an older commit of another process: ignored
    assert trail.checkpoint.read().seq == 8
    assert verify(store).ok


def test_a_torn_or_forged_checkpoint_slot(
    engine: ExecutionEngine, store: SqliteStore, trail: AuditTrail
) -> None:
    assert trail.checkpoint is not None
    fill_orders(engine, "c", 2)  # two commits per order: both slots written
    path = trail.checkpoint.path
    data = bytearray(path.read_bytes())
    newer = 0 if int(data[:20]) == 8 else 1
    _, digest, mac, label = data[newer * SLOT : (newer + 1) * SLOT].decode().split(" ", 3)
    forged = f"{99:020d} {digest} {mac} {label.strip()}"  # moved on without the key
    data[newer * SLOT : (newer + 1) * SLOT] = forged.encode().ljust(SLOT - 1) + b"\n"
    path.write_bytes(bytes(data))
    state = trail.checkpoint.read()
    assert state.forged
    assert state.seq is not None
    assert state.seq < 8
    assert "forged_checkpoint" in {p.kind for p in verify(store).problems}


def test_a_store_with_another_key_refuses_to_open(
    tmp_path: Path, store: SqliteStore, engine: ExecutionEngine
) -> None:
    fill_orders(engine, "k", 1)
    other = SqliteStore(store.path, audit=AuditTrail(b"another key entirely, 32 bytes!"))
    with pytest.raises(ConfigError, match="does not match the one this database was sealed"):
        other.migrate()
    other.close()


def test_an_unkeyed_database_upgrades_and_stays_verifiable(tmp_path: Path) -> None:
    """A database from before the key (plain chain, old-style stubs and anchor, schema
    without 0010) is sealed by the first store opened with the key: what it held is
    vouched for, what follows is keyed, and tampering on either side is named."""
    from datetime import timedelta

    path = tmp_path / "old.db"
    clock = SimulatedClock()
    old = SqliteStore(path)
    old.migrate()
    engine = ExecutionEngine(old, PaperBroker(clock=clock), clock=clock, ids=SequentialIds())
    fill_orders(engine, "old", 2)
    clock.advance(timedelta(days=400))
    fill_orders(engine, "mid", 2)
    assert purge(raw(old), RetentionPolicy(), clock.now()).anchor_seq is not None
    old.close()
    conn = raw(old)  # back to the schema before 0010
    conn.execute("DROP TABLE audit_seal")
    conn.execute("ALTER TABLE audit_pruned DROP COLUMN mac")
    conn.execute("ALTER TABLE audit_anchors DROP COLUMN mac")
    conn.execute("DELETE FROM _yoyo_migration WHERE migration_id = '0010_audit_keyed'")
    legacy_head = conn.execute("SELECT MAX(seq) FROM order_events").fetchone()[0]

    trail = AuditTrail(KEY, Checkpoint(tmp_path / "old.head", KEY, "old"))
    keyed = SqliteStore(path, audit=trail)
    keyed.migrate()
    assert conn.execute("SELECT COUNT(mac) FROM audit_anchors").fetchone()[0] == 1
    engine = ExecutionEngine(keyed, PaperBroker(clock=clock), clock=clock, ids=SequentialIds())
    fill_orders(engine, "new", 1)
    result = verify(keyed)
    assert result.ok, result.problems
    assert result.sealed_at == legacy_head
    # an event from before the key, edited and its plain chain re-hashed, breaks the
    # link into the first keyed event
    seq = conn.execute("SELECT MIN(seq) FROM order_events").fetchone()[0]
    tamperable(conn).execute("UPDATE order_events SET to_status = 'CANCELED' WHERE seq = ?", (seq,))
    assert named(verify(keyed))[0][:2] == ("edited", seq)
    keyed.close()


def test_cli_verify_names_a_cut_tail_without_head(tmp_path: Path, audit_dir: Path) -> None:
    """``ordergate audit verify`` through the settings: the generated key, the
    checkpoint beside it, exit codes."""
    from ordergate.bootstrap import build_store
    from ordergate.service.__main__ import app

    db = str(tmp_path / "cli.db")
    store = build_store(load_settings(database_url=f"sqlite:///{db}"))
    fill_orders(ExecutionEngine(store, PaperBroker()), "cli", 3)
    store.close()
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--db", db])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("OK: 12 events checked")
    assert "checkpoint seq=12" in ok.output
    raw_conn = raw(store)
    raw_conn.execute("DELETE FROM order_events WHERE seq > 10")
    bad = runner.invoke(app, ["audit", "verify", "--db", db, "--json"])
    assert bad.exit_code == 1
    data = json.loads(bad.output)
    assert next(p["kind"] for p in data["problems"]) == "truncated"
    assert data["checkpoint_seq"] == 12
