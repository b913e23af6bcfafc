"""``POST /v1/orders/{id}/modify`` through a real server on loopback."""

from __future__ import annotations

from typing import Any

import httpx

from tests.service.conftest import TOKEN, Live, intent


def _error(response: httpx.Response) -> dict[str, Any]:
    err: dict[str, Any] = response.json()["error"]
    return err


def _resting(live: Live, key: str = "rest") -> str:
    assert live.client.post("/v1/marks", json={"symbol": "AAPL", "last": "150"}).status_code == 200
    body = intent(key, order_type="limit", limit_price="100.00", time_in_force="GTC")
    response = live.client.post("/v1/intents", json=body)
    assert response.json()["status"] == "ACCEPTED", response.text
    order_id: str = response.json()["order_id"]
    return order_id


def test_modify_replays_and_conflicts(live: Live) -> None:
    order_id = _resting(live)
    path = f"/v1/orders/{order_id}/modify"
    first = live.client.post(path, json={"qty": "12", "limit_price": "101.5"},
                             headers={"Idempotency-Key": "m-1"})  # fmt: skip
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["replace"]["state"] == "replaced"
    assert (body["replace"]["qty"], body["replace"]["limit_price"]) == ("12", "101.5")
    assert body["replayed"] is False
    again = live.client.post(
        path, json={"qty": "12", "limit_price": "101.5", "idempotency_key": "m-1"}
    )
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    conflict = live.client.post(path, json={"qty": "13"}, headers={"Idempotency-Key": "m-1"})
    assert conflict.status_code == 409
    assert _error(conflict)["code"] == "E_EXEC_IDEMPOTENCY_CONFLICT"
    detail = live.anon.get(f"/v1/orders/{order_id}").json()
    assert (detail["qty"], detail["limit_price"]) == ("12", "101.5")
    topics = [e["topic"] for e in detail["events"]]
    assert "orders.replace_requested" in topics
    assert "orders.replaced" in topics


def test_modify_refusals_are_documented_statuses(live: Live) -> None:
    order_id = _resting(live)
    path = f"/v1/orders/{order_id}/modify"
    doc = live.anon.get("/openapi.json").json()
    documented = doc["paths"]["/v1/orders/{order_id}/modify"]["post"]["responses"]
    assert doc["paths"]["/v1/orders/{order_id}/modify"]["post"]["x-ordergate-auth"] == "token"
    assert "ModifyIn" in doc["components"]["schemas"]
    seen = [
        (live.client.post(path, json={"stop_price": "90"}), 422, "E_ORDER_MODIFY_INVALID"),
        (live.client.post(path, json={"qty": [1]}), 422, "E_INTENT_INVALID"),
        (live.client.post(path, json={"qty": "NaN"}), 422, "E_ORDER_MODIFY_INVALID"),
        (live.client.post(path, json={"colour": "red"}), 422, "E_INTENT_INVALID"),
        (live.anon.post(path, json={"qty": "11"}), 401, "E_API_UNAUTHORIZED"),
        (live.client.post("/v1/orders/nope/modify", json={"qty": "11"}), 404, "E_ORDER_NOT_FOUND"),
    ]
    for response, status, code in seen:
        assert response.status_code == status, response.text
        assert _error(response)["code"] == code
        assert str(status) in documented
    live.client.post(f"/v1/orders/{order_id}/cancel")
    final = live.client.post(path, json={"qty": "11"})
    assert final.status_code == 409
    assert _error(final)["code"] == "E_ORDER_NOT_MODIFIABLE"
    assert "409" in documented


def test_a_body_carrying_the_token_is_refused(live: Live) -> None:
    order_id = _resting(live)
    response = live.client.post(
        f"/v1/orders/{order_id}/modify", json={"qty": "11", "idempotency_key": TOKEN}
    )
    assert response.status_code == 422
    assert _error(response)["code"] == "E_INTENT_CONTAINS_SECRET"
    assert live.anon.get(f"/v1/orders/{order_id}").json()["qty"] == "10"
