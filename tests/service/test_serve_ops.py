"""``ordergate serve``'s defaults that explain themselves (issue 21): where the generated
token is kept, and retention on a schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ordergate.config import load_settings
from ordergate.service.cli import RetentionSchedule, _purge_once
from tests.serving import free_port, wait_until_serving


def test_serve_says_where_its_generated_token_is_kept(tmp_path: Path) -> None:
    db = tmp_path / "svc.db"
    port = free_port()
    import ordergate

    env = {k: v for k, v in os.environ.items() if k != "ORDERGATE_API_TOKEN"}
    env["PYTHONPATH"] = str(Path(ordergate.__file__).parents[1])  # this tree's code
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ordergate.cli", "serve", "--db", str(db), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
        try:
            wait_until_serving(f"http://127.0.0.1:{port}", proc)
        finally:
            proc.terminate()
            proc.wait(15)
    text = log.read_text()
    kept = Path(str(db) + ".token")
    token = kept.read_text().strip()
    assert f"kept in {kept}" in text
    assert token not in text  # the path is told, the token never
    [line] = [json.loads(x) for x in text.splitlines() if 'generated one"' in x]
    assert line["kept_in"] == str(kept)
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert any('"scheduled retention"' in x for x in text.splitlines())  # ran at start


def test_retention_runs_at_start_and_then_on_its_interval() -> None:
    calls: list[float] = []
    two = threading.Event()

    def purge_once() -> dict[str, Any]:
        calls.append(time.monotonic())
        if len(calls) >= 2:
            two.set()
        return {"orders": 0}

    schedule = RetentionSchedule(purge_once, 0.05)
    schedule.start()
    assert two.wait(5)
    schedule.stop()
    runs = schedule.runs
    time.sleep(0.15)
    assert schedule.runs == runs  # stopped means stopped
    assert calls[1] - calls[0] >= 0.04


def test_a_failed_turn_does_not_end_the_schedule() -> None:
    seen = threading.Event()
    attempts: list[int] = []

    def purge_once() -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("chain does not verify")
        seen.set()
        return {}

    schedule = RetentionSchedule(purge_once, 0.02)
    schedule.start()
    assert seen.wait(5)
    schedule.stop()


def test_interval_zero_turns_the_schedule_off() -> None:
    schedule = RetentionSchedule(lambda: {}, 0)
    schedule.start()
    schedule.stop()
    assert schedule.runs == 0


def test_one_purge_on_a_fresh_database_removes_nothing(tmp_path: Path) -> None:
    from ordergate.bootstrap import build_store

    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'r.db'}")
    build_store(settings).close()
    removed = _purge_once(settings)
    assert removed["orders"] == 0
    assert set(removed) >= {"orders", "fills", "events", "receipts"}


def test_in_shadow_mode_the_purge_also_ages_out_the_twins_marks(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from ordergate.bootstrap import build_store
    from ordergate.domain.market import Mark
    from ordergate.shadow.links import ShadowLinks
    from ordergate.shadow.twin import shadow_settings

    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", shadow=True)
    build_store(settings).close()
    twin = shadow_settings(settings)
    build_store(twin).close()
    assert twin.sqlite_path is not None
    links = ShadowLinks(twin.sqlite_path)
    try:
        now = datetime.now(UTC)
        links.add_mark(Mark(symbol="AAPL", ts=now - timedelta(days=40), last=Decimal("100")))
        links.add_mark(Mark(symbol="AAPL", ts=now, last=Decimal("101")))
        removed = _purge_once(settings)
        assert removed["shadow"]["shadow_marks"] == 1
        assert [m.last for m in links.marks("AAPL")] == [Decimal("101")]
    finally:
        links.close()
