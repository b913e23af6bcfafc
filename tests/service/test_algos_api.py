"""Parent orders over HTTP: submitted as intents with an ``algo`` block, shown with
their progress and children, canceled and modified (issue 18)."""

from __future__ import annotations

from .conftest import Live, intent


def twap(**more: object) -> dict[str, object]:
    return intent(
        "p1",
        qty="40",
        order_type="LIMIT",
        limit_price="90",  # below the market: children rest on the paper book
        algo={"kind": "twap", "horizon_s": 600, "slices": 4},
        **more,
    )


def test_a_parent_is_submitted_shown_modified_and_canceled(live: Live) -> None:
    live.client.post("/v1/marks", json={"symbol": "AAPL", "last": "100"})
    answer = live.client.post("/v1/intents", json=twap())
    assert answer.status_code == 201, answer.text
    body = answer.json()
    parent_id = body["order_id"]
    assert answer.headers["Location"] == f"/v1/algos/{parent_id}"
    assert body["status"] == "ACCEPTED"
    assert body["algo"]["children"][0]["qty"] == "10"
    again = live.client.post("/v1/intents", json=twap())
    assert again.json()["replayed"] is True
    assert again.json()["order_id"] == parent_id

    view = live.client.get(f"/v1/algos/{parent_id}").json()
    assert view["status"] == "WORKING"
    assert view["left"] == "40"
    assert view["working"] == "10"
    assert view["tca"]["arrival_price"] == "100"
    child = view["children"][0]["order_id"]
    order = live.client.get(f"/v1/orders/{child}").json()
    assert order["parent_order_id"] == parent_id
    assert [p["parent_id"] for p in live.client.get("/v1/algos").json()["parents"]] == [parent_id]

    modified = live.client.post(f"/v1/algos/{parent_id}/modify", json={"limit_price": "91"})
    assert modified.status_code == 200, modified.text
    assert modified.json()["algo"]["limit_price"] == "91"
    assert live.client.post(f"/v1/algos/{parent_id}/modify", json={"qty": "x"}).status_code == 422

    canceled = live.client.post(f"/v1/algos/{parent_id}/cancel")
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "CANCELED"
    assert live.client.post(f"/v1/algos/{parent_id}/cancel").status_code == 409
    assert live.client.get("/v1/algos/alg_nothing").status_code == 404
    assert live.anon.post(f"/v1/algos/{parent_id}/cancel").status_code == 401


def test_an_invalid_algo_block_is_a_422_naming_the_field(live: Live) -> None:
    bad = live.client.post("/v1/intents", json=intent("p2", algo={"kind": "twap", "slices": 4}))
    assert bad.status_code == 422
    assert "algo.horizon_s" in bad.text
