"""A real server on loopback: the engine on a fresh SQLite file, uvicorn in a thread."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

import httpx

from ordergate.bootstrap import build_engine
from ordergate.config import load_settings
from ordergate.engine.engine import ExecutionEngine
from ordergate.service.app import create_app
from ordergate.service.runner import find_board, server_thread

TOKEN = "tok-4f9c2e1b7a6d8c3e5f0a1b2c"


@dataclass
class Live:
    url: str
    engine: ExecutionEngine
    client: httpx.Client  # authorised
    anon: httpx.Client  # no token


def make_engine(tmp_path: Path) -> ExecutionEngine:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'svc.db'}",
        sqlite_synchronous="NORMAL",
        risk={"duplicate_window_ms": None},
        exec_max_orders_per_min=1_000_000,
        exec_requests_per_second=100_000,
    )
    return build_engine(settings)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    engine = make_engine(tmp_path)
    app = create_app(engine, token=TOKEN, board=find_board(engine))
    with server_thread(app) as url:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with (
            httpx.Client(base_url=url, headers=auth, timeout=10) as client,
            httpx.Client(base_url=url, timeout=10) as anon,
        ):
            yield Live(url, engine, client, anon)
    engine.store.close()


def intent(key: str, **fields: object) -> dict[str, object]:
    body: dict[str, object] = {"idempotency_key": key, "symbol": "AAPL", "side": "buy", "qty": "10"}
    body.update(fields)
    return body
