"""The HTTP API through a real server on loopback (uvicorn in a thread, httpx)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ordergate.domain.errors import PersistenceError
from tests.service.conftest import Live, intent


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "retryable", "context"}
    err: dict[str, Any] = body["error"]
    return err


def _mark(live: Live, symbol: str = "AAPL", last: str = "150.10") -> None:
    assert live.client.post("/v1/marks", json={"symbol": symbol, "last": last}).status_code == 200


# ------------------------------------------------------------------- intents


def test_submit_fills_and_money_is_exact_strings(live: Live) -> None:
    _mark(live)
    response = live.client.post(
        "/v1/intents",
        content=b'{"idempotency_key":"k1","symbol":"AAPL","side":"buy","qty":0.1}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "FILLED"
    assert body["filled_qty"] == "0.1"  # a JSON number parsed exactly, never via float
    assert isinstance(body["avg_price"], str)
    assert isinstance(body["fees"], str)
    assert response.headers["location"] == f"/v1/orders/{body['order_id']}"
    assert "idempotent-replayed" not in response.headers


def test_replay_returns_the_original_order(live: Live) -> None:
    _mark(live)
    first = live.client.post("/v1/intents", json=intent("same"))
    again = live.client.post("/v1/intents", json=intent("same"))
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    a, b = first.json(), again.json()
    assert b.pop("replayed") is True
    assert a.pop("replayed") is False
    assert a == b
    assert len(live.client.get("/v1/orders").json()["orders"]) == 1


def test_key_from_header_and_conflict_is_409(live: Live) -> None:
    _mark(live)
    body = intent("ignored")
    del body["idempotency_key"]
    first = live.client.post("/v1/intents", json=body, headers={"Idempotency-Key": "hdr-1"})
    assert first.status_code == 201
    changed = dict(body, qty="11")
    conflict = live.client.post("/v1/intents", json=changed, headers={"Idempotency-Key": "hdr-1"})
    assert conflict.status_code == 409
    err = _error(conflict)
    assert err["code"] == "E_EXEC_IDEMPOTENCY_CONFLICT"
    assert err["retryable"] is False
    clash = live.client.post(
        "/v1/intents", json=intent("body-key"), headers={"Idempotency-Key": "other"}
    )
    assert clash.status_code == 422
    assert _error(clash)["context"]["field"] == "idempotency_key"


@pytest.mark.parametrize(
    ("content", "status", "field"),
    [
        (b'{"symbol":"AAPL","side":"buy","qty":"1"}', 422, "idempotency_key"),
        (b'{"idempotency_key":"x","symbol":"AAPL","side":"hold","qty":"1"}', 422, "side"),
        (b'{"idempotency_key":"x","symbol":"AAPL","side":"buy","qty":"-1"}', 422, "qty"),
        (b'{"idempotency_key":"x","symbol":"AAPL","side":"buy","qty":"1","zzz":1}', 422, "zzz"),
        (b'{"idempotency_key":"x","symbol":"AAPL","side":"buy","qty":NaN}', 400, None),
        (b'{"idempotency_key":', 400, None),
        (b"[1, 2]", 422, "body"),
        (b"", 400, None),
        (b"\xff\xfe", 400, None),
    ],
)
def test_bad_input_is_4xx_with_a_code(
    live: Live, content: bytes, status: int, field: str | None
) -> None:
    response = live.client.post(
        "/v1/intents", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    err = _error(response)
    assert err["code"] == "E_INTENT_INVALID"
    if field:
        assert err["context"]["field"] == field


def test_oversized_body_is_413(live: Live) -> None:
    big = intent("big", metadata={"blob": "x" * 100_000})
    response = live.client.post("/v1/intents", json=big)
    assert response.status_code == 413
    assert _error(response)["code"] == "E_API_TOO_LARGE"


def test_unknown_route_and_method_have_codes(live: Live) -> None:
    assert _error(live.client.get("/v1/nothing"))["code"] == "E_API_NOT_FOUND"
    response = live.client.delete("/v1/intents")
    assert response.status_code == 405
    assert _error(response)["code"] == "E_API_NOT_FOUND"


def test_store_down_is_503_retryable(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: object, **kwargs: object) -> None:
        raise PersistenceError("database is locked")

    monkeypatch.setattr(live.engine, "submit", down)
    response = live.client.post("/v1/intents", json=intent("down"))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    err = _error(response)
    assert err["code"] == "E_EXEC_PERSISTENCE"
    assert err["retryable"] is True


def test_a_bug_is_a_500_that_says_nothing(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("internal detail")

    monkeypatch.setattr(live.engine, "submit", bug)
    response = live.client.post("/v1/intents", json=intent("bug"))
    assert response.status_code == 500
    err = _error(response)
    assert err["code"] == "E_API_INTERNAL"
    assert "internal detail" not in response.text


# -------------------------------------------------------------------- orders


def test_list_filters_and_pages(live: Live) -> None:
    _mark(live)
    _mark(live, "MSFT", "300")
    for i in range(5):
        live.client.post("/v1/intents", json=intent(f"a{i}", qty=str(i + 1)))
    live.client.post("/v1/intents", json=intent("m", symbol="MSFT"))
    page = live.client.get("/v1/orders", params={"limit": 2}).json()
    assert len(page["orders"]) == 2
    assert page["next_offset"] == 2
    rest = live.client.get("/v1/orders", params={"limit": 10, "offset": 2}).json()
    assert len(rest["orders"]) == 4
    assert rest["next_offset"] is None
    ids = [o["order_id"] for o in page["orders"] + rest["orders"]]
    assert len(set(ids)) == 6
    msft = live.client.get("/v1/orders", params={"symbol": "msft"}).json()["orders"]
    assert [o["symbol"] for o in msft] == ["MSFT"]
    filled = live.client.get("/v1/orders", params={"status": ["FILLED", "REJECTED"]}).json()
    assert len(filled["orders"]) == 6
    assert _error(live.client.get("/v1/orders", params={"status": "DONE"}))["code"] == (
        "E_INTENT_INVALID"
    )
    bad = live.client.get("/v1/orders", params={"limit": 0})
    assert bad.status_code == 422
    assert _error(bad)["context"]["field"] == "limit"


def test_order_detail_has_events_and_fills(live: Live) -> None:
    _mark(live)
    order_id = live.client.post("/v1/intents", json=intent("d")).json()["order_id"]
    detail = live.client.get(f"/v1/orders/{order_id}").json()
    assert detail["status"] == "FILLED"
    assert [e["to"] for e in detail["events"]][:2] == ["PENDING", "SUBMITTED"]
    assert detail["fills"][0]["last_qty"] == "10"
    missing = live.client.get("/v1/orders/ord_nope")
    assert missing.status_code == 404
    assert _error(missing)["code"] == "E_ORDER_NOT_FOUND"


def test_cancel_a_resting_order_then_409(live: Live) -> None:
    _mark(live)
    body = intent("rest", order_type="limit", limit_price="100.00", time_in_force="GTC")
    order_id = live.client.post("/v1/intents", json=body).json()["order_id"]
    canceled = live.client.post(f"/v1/orders/{order_id}/cancel", json={"reason": "test"})
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "CANCELED"
    again = live.client.post(f"/v1/orders/{order_id}/cancel")
    assert again.status_code == 409
    assert _error(again)["code"] == "E_ORDER_NOT_CANCELABLE"


# ---------------------------------------------------------------- operations


def test_positions_pnl_marks_reconcile(live: Live) -> None:
    _mark(live)
    live.client.post("/v1/intents", json=intent("p"))
    _mark(live, last="151")
    positions = live.client.get("/v1/positions").json()
    assert positions[0]["symbol"] == "AAPL"
    assert positions[0]["qty"] == "10"
    assert positions[0]["mark"] == "151"
    pnl = live.client.get("/v1/pnl").json()
    assert all(isinstance(v, str) for k, v in pnl.items() if k != "daily")
    bad = live.client.post("/v1/marks", json={"symbol": "AAPL", "last": "-1"})
    assert bad.status_code == 422
    assert _error(bad)["context"]["field"] == "last"
    assert live.client.post("/v1/marks", json={"symbol": "", "last": "1"}).status_code == 422
    sync = live.client.post("/v1/reconcile")
    assert sync.status_code == 200
    assert "checked" in sync.json()


def test_kill_switch_rejects_then_clears(live: Live) -> None:
    _mark(live)
    switch = {"kind": "GLOBAL", "state": "ACTIVE", "reason": "test halt", "actor": "qa"}
    assert live.client.put("/v1/kill-switches", json=switch).status_code == 200
    listed = live.client.get("/v1/kill-switches").json()
    assert listed[0]["state"] == "ACTIVE"
    assert listed[0]["actor"] == "qa"
    rejected = live.client.post("/v1/intents", json=intent("ks1")).json()
    assert rejected["status"] == "REJECTED"
    assert rejected["error_code"] == "E_RISK_KILL_SWITCH"
    clear = dict(switch, state="OFF", reason="over")
    assert live.client.put("/v1/kill-switches", json=clear).status_code == 200
    assert live.client.post("/v1/intents", json=intent("ks2")).json()["status"] == "FILLED"
    bad = live.client.put("/v1/kill-switches", json={"kind": "SYMBOL", "reason": "no target"})
    assert bad.status_code == 422
    assert _error(bad)["code"] == "E_CONFIG_INVALID"
    assert live.client.put("/v1/kill-switches", json={"kind": "NOPE"}).status_code == 422


def test_status_health_metrics_openapi(live: Live) -> None:
    _mark(live)
    live.client.post("/v1/intents", json=intent("m1"))
    live.client.put("/v1/kill-switches", json={"kind": "GLOBAL", "reason": "r"})
    live.client.post("/v1/intents", json=intent("m2"))
    status = live.anon.get("/v1/status").json()
    assert status["circuit"]["state"] == "closed"
    assert status["kill_switches_active"] == 1
    assert live.anon.get("/healthz").json() == {"status": "ok"}
    text = live.anon.get("/metrics").text
    assert 'exec_orders_total{adapter="paper",status="FILLED"} 1.0' in text
    assert 'exec_reject_total{reason="E_RISK_KILL_SWITCH"} 1.0' in text
    assert 'exec_circuit_state{adapter="paper"} 0.0' in text
    assert "exec_open_orders 0.0" in text
    assert "exec_queue_depth" in text
    assert "exec_latency_ms_count" in text
    assert "exec_slippage_bps_count" in text
    doc = live.anon.get("/openapi.json").json()
    assert {"/v1/intents", "/v1/orders", "/v1/orders/{order_id}", "/v1/kill-switches"} <= set(
        doc["paths"]
    )
    assert "IntentIn" in doc["components"]["schemas"]
    assert "bearer" in str(doc["components"]["securitySchemes"]).lower()


# ------------------------------------------------------------------- baskets


def test_a_basket_fills_in_order_and_replays_per_intent(live: Live) -> None:
    _mark(live)
    _mark(live, "MSFT", "300")
    basket = {"intents": [intent("bk-1"), {**intent("bk-2"), "symbol": "MSFT", "qty": "2"}]}
    response = live.client.post("/v1/baskets", json=basket)
    assert response.status_code == 201, response.text
    reports = response.json()["reports"]
    assert [r["status"] for r in reports] == ["FILLED", "FILLED"]
    assert reports[1]["filled_qty"] == "2"
    again = live.client.post("/v1/baskets", json={"intents": [intent("bk-1")]}).json()
    assert again["reports"][0]["replayed"] is True
    assert again["reports"][0]["order_id"] == reports[0]["order_id"]


def test_one_bad_intent_refuses_the_basket_and_names_it(live: Live) -> None:
    _mark(live)
    basket = {"intents": [intent("ok-1"), {**intent("bad-1"), "qty": "-1"}]}
    response = live.client.post("/v1/baskets", json=basket)
    assert response.status_code == 422
    err = _error(response)
    assert err["code"] == "E_INTENT_INVALID"
    assert err["message"].startswith("intents[1].qty:")
    assert live.client.get("/v1/orders").json()["orders"] == []
    for body in ({"intents": []}, {"intents": "x"}, {"orders": []}, [intent("x")]):
        assert live.client.post("/v1/baskets", json=body).status_code == 422
