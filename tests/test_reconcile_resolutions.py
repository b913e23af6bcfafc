"""A person's resolution of a reconciliation report: append-only, on every backend, by the
engine, the command line and the HTTP API."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from ordergate.bootstrap import build_engine
from ordergate.cli import app as cli_app
from ordergate.config import load_settings
from ordergate.domain.errors import ErrorCode, InvalidIntent
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.reconcile import reconcile
from ordergate.engine.reconcile_log import (
    MemoryReconcileLog,
    ReconcileLog,
    ReportNotFound,
    Resolution,
    reconcile_log_for,
)
from ordergate.engine.resolutions import RESOLUTION_TOPIC, get_report, list_reports, resolve_report
from ordergate.store.memory import MemoryStore
from ordergate.store.sqlite import SqliteStore
from tests.store.pg import fresh_schema, server_url

AT = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)


def _report(report_id: str) -> dict[str, Any]:
    return {
        "report_id": report_id,
        "created_at": AT.isoformat(),
        "status": "PHANTOM_POSITION",
        "requires_manual_resolution": True,
        "mismatches": [{"kind": "PHANTOM_POSITION", "subject": "default/AAPL"}],
        "checked": {"open_orders": 0},
    }


def _resolution(report_id: str, n: int, minute: int = 0) -> Resolution:
    return Resolution(
        resolution_id=f"res_{n}",
        report_id=report_id,
        resolved_at=AT.replace(minute=minute),
        actor="alice",
        action="closed the position at the broker",
        note=f"look {n}",
    )


# ------------------------------------------------------------- the log, on each backend


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReconcileLog]:
    if request.param == "memory":
        yield MemoryReconcileLog()
        return
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "og.db")
        store.migrate()
        yield reconcile_log_for(store)
        store.close()
        return
    from ordergate.store.postgres import PostgresStore

    with fresh_schema(server_url()) as url:
        pg = PostgresStore(url, min_size=1, max_size=2)
        pg.migrate()
        yield reconcile_log_for(pg)
        pg.close()


def test_resolutions_are_appended_and_the_report_is_unchanged(log: ReconcileLog) -> None:
    log.save(_report("rec_1"))
    log.save(_report("rec_2"))
    log.add_resolution(_resolution("rec_1", 1, minute=1))
    log.add_resolution(_resolution("rec_1", 2, minute=2))

    assert [r.resolution_id for r in log.resolutions("rec_1")] == ["res_1", "res_2"]
    assert log.resolutions("rec_1")[0] == _resolution("rec_1", 1, minute=1)
    assert log.resolutions("rec_2") == []
    assert log.get("rec_1") == _report("rec_1")  # a resolution never edits its report
    shown = get_report(log, "rec_1")
    assert shown["resolved"] is True
    assert [r["note"] for r in shown["resolutions"]] == ["look 1", "look 2"]
    listed = {r["report_id"]: r["resolved"] for r in list_reports(log)}
    assert listed == {"rec_1": True, "rec_2": False}


def test_a_resolution_needs_a_stored_report(log: ReconcileLog) -> None:
    with pytest.raises(ReportNotFound) as info:
        log.add_resolution(_resolution("rec_nope", 1))
    assert info.value.code is ErrorCode.E_RECONCILE_NOT_FOUND
    assert log.resolutions("rec_nope") == []
    assert log.get("rec_nope") is None
    with pytest.raises(ReportNotFound):
        get_report(log, "rec_nope")


def test_sqlite_table_refuses_update_and_delete(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    log = reconcile_log_for(store)
    log.save(_report("rec_1"))
    log.add_resolution(_resolution("rec_1", 1))
    conn = sqlite3.connect(tmp_path / "og.db")
    for sql in (
        "UPDATE reconcile_resolutions SET note = 'edited'",
        "DELETE FROM reconcile_resolutions",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    conn.close()
    store.close()
    assert log.resolutions("rec_1")[0].note == "look 1"


@pytest.mark.postgres
def test_postgres_table_refuses_update_and_delete() -> None:
    import psycopg

    from ordergate.store.postgres import PostgresStore

    with fresh_schema(server_url()) as url:
        store = PostgresStore(url, min_size=1, max_size=2)
        store.migrate()
        log = reconcile_log_for(store)
        log.save(_report("rec_1"))
        log.add_resolution(_resolution("rec_1", 1))
        for sql in (
            "UPDATE reconcile_resolutions SET note = 'edited'",
            "DELETE FROM reconcile_resolutions",
        ):
            with (
                psycopg.connect(url, autocommit=True) as conn,
                pytest.raises(psycopg.errors.RaiseException, match="append-only"),
            ):
                conn.execute(sql)
        assert log.resolutions("rec_1")[0].note == "look 1"
        store.close()


def test_a_memory_store_keeps_one_log() -> None:
    store = MemoryStore()
    reconcile_log_for(store).save(_report("rec_1"))
    assert reconcile_log_for(store).get("rec_1") is not None
    assert reconcile_log_for(MemoryStore()).get("rec_1") is None


# ------------------------------------------------------------- through the engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[ExecutionEngine]:
    built = build_engine(load_settings(database_url=f"sqlite:///{tmp_path / 'og.db'}"))
    yield built
    built.store.close()


def test_resolve_report_records_the_resolution_and_its_event(engine: ExecutionEngine) -> None:
    report = reconcile(engine)
    resolution = resolve_report(
        engine, report.report_id, actor=" alice ", action="checked by hand", note="all fine\nok"
    )
    assert resolution.actor == "alice"
    assert resolution.report_id == report.report_id
    log = reconcile_log_for(engine.store)
    assert log.resolutions(report.report_id) == [resolution]
    [event] = [
        orjson.loads(m.payload)
        for m in engine.store.outbox_after(0, 10_000)
        if m.topic == RESOLUTION_TOPIC
    ]
    assert event["resolution_id"] == resolution.resolution_id
    assert event["actor"] == "alice"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"actor": " ", "action": "x"}, "actor"),
        ({"actor": "alice", "action": ""}, "action"),
        ({"actor": "al\x1bice", "action": "x"}, "actor"),
        ({"actor": "alice", "action": "x\x85"}, "action"),
        ({"actor": "alice", "action": "x", "note": "n" * 4001}, "note"),
    ],
)
def test_bad_resolutions_are_refused_and_record_nothing(
    engine: ExecutionEngine, fields: dict[str, str], field: str
) -> None:
    report = reconcile(engine)
    with pytest.raises(InvalidIntent) as info:
        resolve_report(engine, report.report_id, **fields)
    assert info.value.field == field
    assert reconcile_log_for(engine.store).resolutions(report.report_id) == []


def test_an_unknown_report_is_refused(engine: ExecutionEngine) -> None:
    with pytest.raises(ReportNotFound) as info:
        resolve_report(engine, "rec_missing", actor="alice", action="x")
    assert "ordergate reconcile list" in info.value.message


# ------------------------------------------------------------- the command line


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli_app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_cli_resolve_then_list(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    report = json.loads(_run("reconcile", "--json", "--db", db))
    assert report["status"] == "MATCHED"

    done = json.loads(
        _run("reconcile", "resolve", report["report_id"], "--actor", "alice",
             "--action", "checked by hand", "--note", "nothing to do", "--db", db, "--json")
    )  # fmt: skip
    assert done["report_id"] == report["report_id"]

    [listed] = json.loads(_run("reconcile", "list", "--json", "--db", db))["reports"]
    assert listed["resolved"] is True
    assert listed["resolutions"][0]["note"] == "nothing to do"
    text = _run("reconcile", "list", "--db", db)
    assert "resolved" in text
    assert "alice checked by hand: nothing to do" in text

    refused = _run("reconcile", "resolve", "rec_nope", "--actor", "a", "--action", "b",
                   "--db", db, code=2)  # fmt: skip
    assert "E_RECONCILE_NOT_FOUND" in refused


# ------------------------------------------------------------- the HTTP API


def test_api_post_and_get_resolutions(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    import httpx

    from ordergate.service.app import create_app
    from ordergate.service.runner import server_thread

    engine = build_engine(load_settings(database_url=f"sqlite:///{tmp_path / 'api.db'}"))
    report = reconcile(engine)
    token = "tok-9a8b7c6d5e4f3a2b1c0d"
    app = create_app(engine, token=token)
    path = f"/v1/reconcile/{report.report_id}/resolutions"
    with (
        server_thread(app) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        assert client.get(path).json() == []
        anon = httpx.post(url + path, json={"actor": "a", "action": "b"})
        assert anon.status_code == 401

        made = client.post(path, json={"actor": "bob", "action": "adopted", "note": "ok"})
        assert made.status_code == 201, made.text
        assert made.json()["actor"] == "bob"
        assert [r["action"] for r in client.get(path).json()] == ["adopted"]
        shown = client.get(f"/v1/reconcile/{report.report_id}").json()
        assert shown["resolved"] is True
        assert shown["status"] == report.status.value
        listed = client.get("/v1/reconcile/reports").json()["reports"]
        assert listed[0]["resolutions"][0]["resolution_id"] == made.json()["resolution_id"]

        missing = client.post(
            "/v1/reconcile/rec_nope/resolutions", json={"actor": "a", "action": "b"}
        )
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "E_RECONCILE_NOT_FOUND"
        assert client.get("/v1/reconcile/rec_nope").status_code == 404
        bad = client.post(path, json={"actor": "bob", "action": "x", "extra": 1})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "E_INTENT_INVALID"
        empty = client.post(path, json={"actor": "", "action": "x"})
        assert empty.status_code == 422
        doc = client.get("/openapi.json").json()
        assert "post" in doc["paths"]["/v1/reconcile/{report_id}/resolutions"]
    assert len(reconcile_log_for(engine.store).resolutions(report.report_id)) == 1
    engine.store.close()
