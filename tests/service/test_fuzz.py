"""Fuzzing the intent endpoint (and its neighbours) through a real server: whatever a
client sends, the answer is a success or a 4xx with a code — never a server error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.service.app import create_app
from ordergate.service.runner import find_board, server_thread
from tests.service.conftest import TOKEN, make_engine

FIELDS = [
    "idempotency_key", "key", "symbol", "side", "qty", "quantity", "size", "order_type",
    "type", "limit_price", "price", "stop_price", "trigger_price", "time_in_force", "tif",
    "expire_at", "account_id", "strategy_id", "product", "tag", "reason", "confidence",
    "sl_offset_pct", "tp_offset_pct", "decision_id", "metadata", "validity",
]  # fmt: skip
NUMBERISH = st.sampled_from(
    ["1", "0", "-1", "1e999", "1e-999", "0.00000000001", "NaN", "Infinity", "1_000", " 5 ",
     "9" * 5000, "1.5", "-0", "0x10", "", "BUY", "2026-01-01T00:00:00Z", "2020-01-01"]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | NUMBERISH
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
VALID = {"idempotency_key": "k", "symbol": "AAPL", "side": "buy", "qty": "1"}
INTENTISH = st.builds(
    lambda base, extra: {**base, **extra},
    st.sampled_from([{}, VALID, {"symbol": "AAPL", "side": "sell"}]),
    st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), JSONISH | NUMBERISH, max_size=8),
)
# a header value cannot start or end with white space (HTTP/1.1): the client refuses it
HEADER_TEXT = st.text(
    st.characters(min_codepoint=32, max_codepoint=126), min_size=0, max_size=140
).map(str.strip)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    engine = make_engine(Path(tmp_path_factory.mktemp("fuzz")))
    engine.mark("AAPL", "100")
    with (
        server_thread(create_app(engine, token=TOKEN, board=find_board(engine))) as base,
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        yield http
    engine.store.close()


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"].startswith("E_")
        assert isinstance(error["retryable"], bool)


FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(body=INTENTISH, key=st.none() | HEADER_TEXT)
def test_intent_objects(client: httpx.Client, body: dict[str, Any], key: str | None) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    content = json.dumps(body, default=str, allow_nan=True).encode()
    _check(client.post("/v1/intents", content=content, headers=headers))


@FUZZ
@given(body=JSONISH)
def test_any_json(client: httpx.Client, body: Any) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for path in ("/v1/intents", "/v1/marks", "/v1/kill-switches"):
        method = "PUT" if path.endswith("switches") else "POST"
        content = json.dumps(body, default=str).encode()
        _check(client.request(method, path, content=content, headers=headers))


@FUZZ
@given(raw=st.binary(max_size=300))
def test_any_bytes(client: httpx.Client, raw: bytes) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    _check(client.post("/v1/intents", content=raw, headers=headers))


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["status", "symbol", "strategy_id", "account_id", "limit", "offset", "x"]),
        HEADER_TEXT,
        max_size=4,
    ),
    order_id=HEADER_TEXT.filter(lambda s: s and "/" not in s and "?" not in s and "#" not in s),
)
def test_reads(client: httpx.Client, params: dict[str, str], order_id: str) -> None:
    _check(client.get("/v1/orders", params=params))
    _check(client.get(f"/v1/orders/{order_id}"))
