"""Issue 20, items 3, 5, 6 and 8 through a real server: the token never gets in, bodies
are cut while they stream, deep metadata is a clear 422, odd digits and controls are
refused."""

from __future__ import annotations

import json
import resource
import select
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from ordergate.domain.errors import BrokerUnavailable
from ordergate.service.app import create_app
from ordergate.service.runner import find_board, server_thread
from tests.service.conftest import TOKEN, Live, intent, make_engine

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _error(response: httpx.Response) -> dict[str, Any]:
    err: dict[str, Any] = response.json()["error"]
    return err


def _mark(live: Live) -> None:
    assert live.client.post("/v1/marks", json={"symbol": "AAPL", "last": "100"}).status_code == 200


def _dump(live: Live) -> str:
    """Every row of the service's database, as SQL text."""
    path = Path(str(live.engine.store.path))  # type: ignore[attr-defined]
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


# --------------------------------------------------------------- item 3: the token


def _escaped(text: str) -> str:
    """``text`` with every character written as a JSON ``\\uXXXX`` escape."""
    return "".join(f"\\u{ord(ch):04x}" for ch in text)


@pytest.mark.parametrize(
    "case", ["escaped-in-body", "escaped-key", "idempotency-key-header", "other-header", "big-body"]
)
def test_a_request_carrying_the_token_is_refused_and_never_stored(live: Live, case: str) -> None:
    _mark(live)
    headers = dict(AUTH, **{"Content-Type": "application/json"})
    body = intent(f"tok-{case}")
    if case == "escaped-in-body":
        raw = json.dumps(body)[:-1] + f', "reason": "{_escaped(TOKEN)}"}}'
    elif case == "escaped-key":
        raw = json.dumps(body)[:-1] + f', "metadata": {{"{_escaped(TOKEN)}": 1}}}}'
    elif case == "idempotency-key-header":
        del body["idempotency_key"]
        headers["Idempotency-Key"] = TOKEN
        raw = json.dumps(body)
    elif case == "other-header":
        headers["X-Trace"] = f"trace {TOKEN}"
        raw = json.dumps(body)
    else:  # a body of any size is searched, not only the first 64 KiB
        body["metadata"] = {"pad": "x" * 40_000, "note": "y" * 20_000 + TOKEN}
        raw = json.dumps(body)
        assert len(raw) > 60_000
    response = live.client.post("/v1/intents", content=raw.encode(), headers=headers)
    assert response.status_code == 422, response.text
    err = _error(response)
    assert err["code"] == "E_INTENT_CONTAINS_SECRET"
    assert TOKEN not in response.text
    assert live.client.get("/v1/orders").json()["orders"] == []
    assert TOKEN not in _dump(live)


def test_the_token_in_a_query_or_path_is_refused(live: Live) -> None:
    for response in (
        live.client.get("/v1/orders", params={"symbol": TOKEN}),
        live.client.get(f"/v1/orders/{TOKEN}"),
        live.anon.get("/v1/orders", params={"strategy_id": f"a {TOKEN}"}),
    ):
        assert response.status_code == 422
        assert _error(response)["code"] == "E_INTENT_CONTAINS_SECRET"
        assert TOKEN not in response.text


def test_a_body_over_64_kib_is_searched_when_the_limit_allows_it(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    app = create_app(engine, token=TOKEN, board=find_board(engine), max_body_bytes=1_000_000)
    body = intent("big", metadata={"pad": "x" * 15_000})
    raw = json.dumps(body)[:-1] + ', "reason": "' + " " * 100_000 + _escaped(TOKEN[:5]) + TOKEN[5:]
    try:
        with server_thread(app) as url:
            response = httpx.post(
                f"{url}/v1/intents", content=(raw + '"}').encode(), headers=AUTH, timeout=10
            )
        assert response.status_code == 422, response.text
        assert _error(response)["code"] == "E_INTENT_CONTAINS_SECRET"
        assert engine.store.get_order("x") is None
        assert engine.orders() == []
    finally:
        engine.store.close()


def test_credential_named_metadata_is_masked_before_it_is_written(live: Live) -> None:
    _mark(live)
    metadata = {"broker_API_Key": "ak-live-9f8e7d6c", "nested": {"db_password": "hunter2-xyz"}}
    response = live.client.post("/v1/intents", json=intent("masked", metadata=metadata))
    assert response.status_code == 201, response.text
    dump = _dump(live)
    assert "masked" in dump
    assert "ak-live-9f8e7d6c" not in dump
    assert "hunter2-xyz" not in dump
    assert '"broker_API_Key":"***"' in dump


# ---------------------------------------------------------- item 5: size while reading


def _send_until_answered(
    url: str, method: str, path: str, chunks: Iterator[bytes], *, length: int | None = None
) -> tuple[int, int]:
    """Send a request body chunk by chunk, watching for an early answer.

    Returns (HTTP status, body bytes the client had sent when the answer came).
    """
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    )
    sent = 0
    answer = b""
    try:
        sock.sendall(head.encode())
        for chunk in chunks:
            readable, _, _ = select.select([sock], [], [], 0.02)
            if readable:
                break
            frame = chunk if length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk)
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        else:
            if length is None:
                sock.sendall(b"0\r\n\r\n")
        sock.settimeout(30)
        while b"\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    finally:
        sock.close()
    return int(answer.split(b" ", 2)[1]), sent


def _chunks(total: int, size: int = 16_384) -> Iterator[bytes]:
    yield b'{"idempotency_key":"big","symbol":"AAPL","side":"buy","qty":"1","reason":"'
    for _ in range(total // size):
        yield b"x" * size


def test_a_200_mb_chunked_body_is_cut_at_the_limit(live: Live) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status, sent = _send_until_answered(live.url, "POST", "/v1/intents", _chunks(200 * 2**20))
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert status == 413
    assert sent < 4 * 2**20, f"the server read {sent} bytes before answering"
    assert grown_kib < 64 * 1024
    assert live.client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/kill-switches"),
        ("POST", "/v1/orders/ord_x/cancel"),
        ("POST", "/v1/marks"),
        ("POST", "/v1/reconcile"),
    ],
)
def test_every_route_has_the_limit(live: Live, method: str, path: str) -> None:
    ten_mb = 10 * 2**20
    status, sent = _send_until_answered(live.url, method, path, _chunks(ten_mb), length=ten_mb)
    assert status == 413
    assert sent == 0  # answered on the declared length, before the body
    status, sent = _send_until_answered(live.url, method, path, _chunks(ten_mb))
    assert status == 413
    assert sent < 4 * 2**20


# ------------------------------------------------------------ item 6: deep metadata


@pytest.mark.parametrize("depth", [9, 254, 255, 5_000])
def test_deep_metadata_is_a_clear_422_and_the_connection_stays_usable(
    live: Live, depth: int
) -> None:
    _mark(live)
    nested = '{"a":' * depth + "1" + "}" * depth
    raw = json.dumps(intent("deep"))[:-1] + f', "metadata": {nested}}}'
    with httpx.Client(base_url=live.url, headers=AUTH, timeout=10) as one:
        response = one.post("/v1/intents", content=raw.encode())
        assert response.status_code in (400, 422), response.text
        err = _error(response)
        assert err["code"] == "E_INTENT_INVALID"
        if depth < 1000:  # deeper than the JSON reader goes is a 400 "not valid JSON"
            assert "deeper than 8" in err["message"]
        ok = one.post("/v1/intents", json=intent("after-deep", metadata={"a": {"b": [1]}}))
        assert ok.status_code == 201, ok.text
        assert ok.json()["status"] == "FILLED"


# ------------------------------------------------- item 8: digits and control characters


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("qty", "1_000"),
        ("qty", "\u0661\u0660"),  # Arabic-Indic 10
        ("qty", "\uff11\uff10"),  # full-width 10
        ("limit_price", "\u06f1\u06f0\u06f0"),  # extended Arabic-Indic 100
        ("reason", "ok\x7f"),
        ("tag", "\x85"),
        ("product", "CNC\x9b"),
        ("symbol", "\u017fPY"),  # long s upper-cases to S
        ("strategy_id", "s\x80"),
    ],
)
def test_odd_digits_and_controls_are_refused_naming_the_field(
    live: Live, field: str, value: str
) -> None:
    _mark(live)
    body = intent(f"odd-{field}", **{field: value})
    if field == "limit_price":
        body.update(order_type="limit", time_in_force="GTC")
    response = live.client.post("/v1/intents", json=body)
    assert response.status_code == 422, response.text
    err = _error(response)
    assert err["code"] == "E_INTENT_INVALID"
    assert err["context"]["field"] == field
    assert live.client.get("/v1/orders").json()["orders"] == []


# ------------------------------------------------------------------ item 7: /readyz


def test_readyz_is_ready_when_store_and_broker_are(live: Live) -> None:
    response = live.anon.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": {"store": "ok", "broker": "ok"}}


def test_readyz_fails_within_a_second_while_the_database_is_locked(live: Live) -> None:
    path = str(live.engine.store.path)  # type: ignore[attr-defined]
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        started = time.monotonic()
        response = live.anon.get("/readyz")
        took = time.monotonic() - started
        assert response.status_code == 503, response.text
        err = _error(response)
        assert err["code"] == "E_API_NOT_READY"
        assert err["retryable"] is True
        assert "store" in err["message"]
        assert "locked" in err["message"]
        assert err["context"]["broker"] == "ok"
        assert took < 1.0
        assert live.anon.get("/healthz").status_code == 200  # alive, but not ready
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert live.anon.get("/readyz").status_code == 200


def test_readyz_fails_when_the_broker_hangs_or_is_down(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hang() -> None:
        time.sleep(3)

    monkeypatch.setattr(live.engine.broker, "fetch_account", hang)
    started = time.monotonic()
    response = live.anon.get("/readyz")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 503
    assert "broker: no answer within" in _error(response)["message"]
    again = live.anon.get("/readyz")  # the hung probe is not started twice
    assert "has not answered" in _error(again)["context"]["broker"]

    def down() -> None:
        raise BrokerUnavailable("connection refused")

    time.sleep(3)
    monkeypatch.setattr(live.engine.broker, "fetch_account", down)
    response = live.anon.get("/readyz")
    assert response.status_code == 503
    assert "connection refused" in _error(response)["context"]["broker"]
    assert _error(response)["context"]["store"] == "ok"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of its own (needs the right to mount; skipped where there is none)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        check=False,
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


def test_readyz_fails_on_a_full_and_on_a_read_only_disk(small_disk: Path) -> None:
    engine = make_engine(small_disk)
    app = create_app(engine, token=TOKEN, board=find_board(engine))
    try:
        with server_thread(app) as url, httpx.Client(base_url=url, timeout=10) as http:
            assert http.get("/readyz").status_code == 200
            filler = small_disk / "filler"
            with filler.open("wb", buffering=0) as out:  # unbuffered: nothing left to flush
                try:
                    while True:
                        out.write(b"\0" * 65536)
                except OSError:
                    pass
            full = http.get("/readyz")
            assert full.status_code == 503
            assert "store: the disk is full" in _error(full)["message"]
            filler.unlink()
            assert http.get("/readyz").status_code == 200
            # a read-only mount over the directory (the kernel refuses to remount a
            # filesystem read-only while files on it are open for writing)
            ro = ["mount", "--bind", "-o", "ro", str(small_disk), str(small_disk)]
            subprocess.run(ro, check=True)
            try:
                read_only = http.get("/readyz")
                assert read_only.status_code == 503
                assert "read-only" in _error(read_only)["context"]["store"]
            finally:
                subprocess.run(["umount", str(small_disk)], check=True)
            assert http.get("/readyz").status_code == 200
    finally:
        engine.store.close()


# ------------------------------------------------------------- the trading state


def test_trading_state_and_posture_over_http(live: Live) -> None:
    _mark(live)
    shown = live.anon.get("/v1/trading").json()
    assert shown["state"]["value"] == "NORMAL"
    assert shown["posture"]["value"] == "NORMAL"
    halt = {"state": "HALTED", "actor": "ops", "reason": "exchange outage"}
    assert live.anon.put("/v1/trading", json=halt).status_code == 401
    changed = live.client.put("/v1/trading", json=halt)
    assert changed.status_code == 200, changed.text
    assert changed.json()["state"] == {
        **changed.json()["state"],
        "value": "HALTED",
        "actor": "ops",
        "reason": "exchange outage",
    }
    rejected = live.client.post("/v1/intents", json=intent("halted")).json()
    assert rejected["status"] == "REJECTED"
    assert rejected["error_code"] == "E_RISK_TRADING_HALTED"
    emergency = {"state": "NORMAL", "posture": "EMERGENCY", "actor": "cro", "reason": "black swan"}
    assert live.client.put("/v1/trading", json=emergency).json()["posture"]["value"] == "EMERGENCY"
    opening = live.client.post("/v1/intents", json=intent("emergency")).json()
    assert opening["error_code"] == "E_RISK_REDUCE_ONLY"
    back = {"posture": "NORMAL", "actor": "cro", "reason": "over"}
    assert live.client.put("/v1/trading", json=back).status_code == 200
    assert live.client.post("/v1/intents", json=intent("normal")).json()["status"] == "FILLED"
    for bad in (
        {"state": "PAUSED", "actor": "a", "reason": "r"},
        {"actor": "a", "reason": "r"},
        {"state": "HALTED", "actor": "a", "reason": "   "},
        {"state": "HALTED", "actor": "a", "reason": "r\x85"},
        {"state": "HALTED", "reason": "r"},
    ):
        response = live.client.put("/v1/trading", json=bad)
        assert response.status_code == 422, (bad, response.text)
        assert _error(response)["code"] == "E_INTENT_INVALID"
    assert live.anon.get("/v1/trading").json()["posture"]["value"] == "NORMAL"


# ------------------------------------------------------- item 9: the OpenAPI document


def test_the_document_says_who_needs_the_token_and_every_outcome(live: Live) -> None:
    _mark(live)
    doc = live.anon.get("/openapi.json").json()
    writes = {("post", "/v1/intents"), ("post", "/v1/baskets"), ("put", "/v1/trading")}
    writes |= {("post", "/v1/orders/{order_id}/cancel"), ("put", "/v1/kill-switches")}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            needs = "token" if (method, path) in writes or method != "get" else "open-on-loopback"
            assert op["x-ordergate-auth"] == needs, (method, path)
            assert ({} in op["security"]) is (needs != "token")
            assert {"401", "413", "422", "500"} <= set(op["responses"]), (method, path)
    intents = doc["paths"]["/v1/intents"]["post"]["responses"]
    assert "REJECTED" in intents["201"]["description"]
    assert {"400", "409", "503"} <= set(intents)
    assert "/readyz" in doc["paths"]
    assert "/v1/trading" in doc["paths"]
    assert len(doc["components"]["schemas"]["IntentIn"]["oneOf"]) == 16
    # what the service answers is what the document lists, a rejected order included
    live.client.put("/v1/kill-switches", json={"kind": "SYMBOL", "target": "MSFT", "reason": "r"})
    seen = [
        ("post", "/v1/intents", live.client.post("/v1/intents", json=intent("d1"))),
        ("post", "/v1/intents", live.client.post("/v1/intents", json=intent("d2", symbol="MSFT"))),
        ("post", "/v1/intents", live.client.post("/v1/intents", json=intent("d1", qty="2"))),
        ("post", "/v1/intents", live.anon.post("/v1/intents", json=intent("d3"))),
        ("post", "/v1/intents", live.client.post("/v1/intents", content=b"{")),
        ("post", "/v1/intents", live.client.post("/v1/intents", json=intent("d4", qty="1_0"))),
        ("post", "/v1/orders/{order_id}/cancel", live.client.post("/v1/orders/nope/cancel")),
        ("get", "/v1/orders/{order_id}", live.anon.get("/v1/orders/nope")),
        ("get", "/v1/orders", live.anon.get("/v1/orders", params={"limit": 0})),
        ("put", "/v1/trading", live.client.put("/v1/trading", json={"actor": "a"})),
    ]
    assert seen[1][2].json()["status"] == "REJECTED"
    for method, path, response in seen:
        documented = doc["paths"][path][method]["responses"]
        assert str(response.status_code) in documented, (method, path, response.status_code)


def test_a_405_says_which_methods_are_allowed(live: Live) -> None:
    response = live.client.delete("/v1/kill-switches")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, PUT"
    assert _error(response)["code"] == "E_API_NOT_FOUND"
    assert live.client.get("/v1/orders/x/cancel").headers["allow"] == "POST"
    assert live.client.post("/readyz").headers["allow"] == "GET, HEAD"
