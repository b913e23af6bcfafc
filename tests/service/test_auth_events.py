"""Auth (bearer token, loopback vs beyond) and the server-sent event stream."""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path

import httpx

from ordergate.service.app import create_app
from ordergate.service.runner import is_loopback, server_thread
from tests.service.conftest import TOKEN, Live, intent, make_engine


def test_mutations_need_the_token_reads_do_not_on_loopback(live: Live) -> None:
    for method, path in [
        ("POST", "/v1/intents"),
        ("POST", "/v1/marks"),
        ("POST", "/v1/reconcile"),
        ("POST", "/v1/orders/x/cancel"),
        ("PUT", "/v1/kill-switches"),
    ]:
        response = live.anon.request(method, path, json={})
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "E_API_UNAUTHORIZED"
        assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = live.anon.post(
        "/v1/intents", json=intent("w"), headers={"Authorization": f"Bearer {TOKEN}x"}
    )
    assert wrong.status_code == 401
    assert TOKEN not in wrong.text
    basic = live.anon.post("/v1/intents", json=intent("b"), headers={"Authorization": "Basic x"})
    assert basic.status_code == 401
    for path in ("/v1/orders", "/v1/positions", "/v1/pnl", "/healthz", "/metrics", "/"):
        assert live.anon.get(path).status_code == 200, path


def test_everything_needs_the_token_beyond_loopback(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    app = create_app(engine, token=TOKEN, protect_reads=True)
    with server_thread(app) as url, httpx.Client(base_url=url) as anon:
        for path in (
            "/v1/orders",
            "/v1/positions",
            "/v1/pnl",
            "/healthz",
            "/metrics",
            "/v1/events",
            "/openapi.json",
            "/v1/status",
        ):
            assert anon.get(path).status_code == 401, path
        ok = anon.get("/v1/orders", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert anon.get("/").status_code == 200  # the page shell carries no data
    engine.store.close()


def test_no_token_configured_refuses_mutations(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    with server_thread(create_app(engine, token=None)) as url:
        response = httpx.post(f"{url}/v1/intents", json=intent("n"))
        assert response.status_code == 401
        assert "ORDERGATE_API_TOKEN" in response.json()["error"]["message"]
    engine.store.close()


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("10.1.2.3")


def _listen(url: str, frames: queue.Queue[tuple[str, dict[str, object]]]) -> None:
    try:
        _read_stream(url, frames)
    except httpx.HTTPError:
        return  # the server stopped at teardown


def _read_stream(url: str, frames: queue.Queue[tuple[str, dict[str, object]]]) -> None:
    with (
        httpx.Client(base_url=url, timeout=httpx.Timeout(10, read=30)) as client,
        client.stream("GET", "/v1/events") as response,
    ):
        topic = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                topic = line[7:]
            elif line.startswith("data: "):
                frames.put((topic, json.loads(line[6:])))
            elif line.startswith(": connected"):
                frames.put(("connected", {}))


def test_events_stream_every_status_change(live: Live) -> None:
    frames: queue.Queue[tuple[str, dict[str, object]]] = queue.Queue()
    threading.Thread(target=_listen, args=(live.url, frames), daemon=True).start()
    assert frames.get(timeout=5)[0] == "connected"
    live.client.post("/v1/marks", json={"symbol": "AAPL", "last": "100"})
    started = time.monotonic()
    order_id = live.client.post("/v1/intents", json=intent("sse")).json()["order_id"]
    seen: list[str] = []
    while "ordergate.orders.filled" not in seen:
        topic, data = frames.get(timeout=1)
        if data.get("order_id") == order_id:
            seen.append(topic)
    assert time.monotonic() - started < 1.0
    assert seen[:2] == ["ordergate.orders.intent", "ordergate.orders.submitted"]
    assert "ordergate.executions.report" in seen
