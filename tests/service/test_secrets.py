"""A known secret never appears in a log line, a stored row or a response.

``ordergate serve`` runs as its own process (JSON logs on stdout, uvicorn's too); the
test uses the token properly, misuses it every way a client could (in a body, a path,
a query, a wrong header) and then reads every byte the service produced.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving import free_port, wait_until_serving

SECRET = "s3cr3t-Tok3n-7d41c09e5b2a"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    db = tmp_path / "secret.db"
    log = tmp_path / "serve.log"
    port = free_port()
    env = dict(os.environ, ORDERGATE_API_TOKEN=SECRET, ORDERGATE_LOG_LEVEL="DEBUG")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ordergate.service",
                "serve",
                "--db",
                str(db),
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url, proc)
            yield url, db, log
        finally:
            proc.terminate()
            proc.wait(15)


def test_secret_never_leaks(served: tuple[str, Path, Path]) -> None:
    url, db, log = served
    good = {"Authorization": f"Bearer {SECRET}"}
    responses: list[httpx.Response] = []
    with httpx.Client(base_url=url, timeout=10) as c:
        responses.append(c.post("/v1/marks", json={"symbol": "AAPL", "last": "10"}, headers=good))
        ok = {"idempotency_key": "s1", "symbol": "AAPL", "side": "buy", "qty": "1"}
        responses.append(c.post("/v1/intents", json=ok, headers=good))
        misuse = [
            c.post("/v1/intents", json=dict(ok, idempotency_key="s2", tag=SECRET), headers=good),
            c.post("/v1/intents", json=dict(ok, idempotency_key="s3", qty=SECRET), headers=good),
            c.post("/v1/intents", json=dict(ok, idempotency_key=SECRET), headers=good),
            c.post("/v1/intents", json=ok, headers={"Idempotency-Key": SECRET, **good}),
            c.post("/v1/intents", json=ok, headers={"Authorization": f"Bearer {SECRET}0"}),
            c.post("/v1/intents", json=ok, headers={"Authorization": SECRET}),
            c.get(f"/v1/orders/{SECRET}"),
            c.post(f"/v1/orders/{SECRET}/cancel", headers=good),
            c.get("/v1/orders", params={"symbol": SECRET, "status": SECRET}),
            c.get(f"/v1/{SECRET}"),
            c.put(
                "/v1/kill-switches",
                json={"kind": "SYMBOL", "target": "X", "reason": SECRET, "actor": "qa"},
                headers=good,
            ),
            c.get("/v1/kill-switches"),
            c.post("/v1/marks", json={"symbol": SECRET, "last": SECRET}, headers=good),
        ]
        responses.extend(misuse)
        responses.extend(c.get(p) for p in ("/v1/orders", "/v1/positions", "/metrics", "/"))
    assert responses[1].status_code == 201
    for response in responses:
        assert response.status_code < 500, response.text
        assert SECRET not in response.text, response.request.url
        assert all(SECRET not in v for v in response.headers.values())
    time.sleep(0.3)  # let the last log lines flush
    lines = log.read_text().splitlines()
    assert len(lines) > 20
    assert any('"order status"' in line for line in lines)
    leaked = [line for line in lines if SECRET in line]
    assert not leaked, leaked
    conn = sqlite3.connect(db)
    dump = "\n".join(conn.iterdump())
    assert "s1" in dump
    assert SECRET not in dump
    for extra in db.parent.iterdir():
        if extra.is_file():
            assert SECRET.encode() not in extra.read_bytes(), extra.name
