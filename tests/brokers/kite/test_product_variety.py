"""Kite's ``product`` and ``variety``: named by the intent, carried on the wire's
``OrderRequest``, defaulted from the ``kite:`` block, and what Kite would refuse (or
ordergate cannot say) refused with our code before any request leaves."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from ordergate.brokers.kite.adapter import KiteBroker
from ordergate.domain.enums import OrderStatus, OrderType, OrderVariety, Product, Side, TimeInForce
from ordergate.domain.errors import BrokerRejected, ErrorCode, InvalidIntent
from ordergate.domain.intent import OrderIntent
from ordergate.domain.wire import OrderRequest
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.memory import MemoryStore
from tests.brokers.kite.fake_kite import FakeKite
from tests.brokers.kite.kit import make_adapter


@pytest.fixture
def adapter(fake: FakeKite) -> Iterator[KiteBroker]:
    broker = make_adapter(fake, product="MIS", variety="regular")
    yield broker
    broker.close()


def _posts(fake: FakeKite) -> list[str]:
    return [path for method, path, _ in fake.requests if method == "POST"]


def _request(cid: str, **kw: object) -> OrderRequest:
    values: dict[str, object] = {
        "client_order_id": cid,
        "account_id": "ZX1234",
        "symbol": "INFY",
        "side": Side.BUY,
        "qty": Decimal(10),
        "order_type": OrderType.LIMIT,
        "limit_price": Decimal(1400),
        "time_in_force": TimeInForce.DAY,
    }
    values.update(kw)
    return OrderRequest(**values)  # type: ignore[arg-type]


def test_the_intent_s_product_and_variety_reach_kite(fake: FakeKite, adapter: KiteBroker) -> None:
    engine = ExecutionEngine(MemoryStore(), adapter)
    report = engine.submit(
        {
            "idempotency_key": "pv-1",
            "symbol": "NFO:NIFTY26DECFUT",
            "side": "BUY",
            "qty": "75",
            "order_type": "LIMIT",
            "limit_price": "23000",
            "product": "nrml",
            "variety": "AMO",
        }
    )
    assert report.status is OrderStatus.ACCEPTED, report
    [row] = fake.all_orders()
    assert (row["product"], row["variety"]) == ("NRML", "amo")
    assert _posts(fake) == ["/orders/amo"]


def test_without_them_the_block_s_defaults_apply(fake: FakeKite, adapter: KiteBroker) -> None:
    engine = ExecutionEngine(MemoryStore(), adapter)
    engine.submit({"idempotency_key": "pv-2", "symbol": "INFY", "side": "BUY", "qty": "1"})
    [row] = fake.all_orders()
    assert (row["product"], row["variety"]) == ("MIS", "regular")


def test_an_iceberg_goes_in_legs_that_cover_the_quantity(
    fake: FakeKite, adapter: KiteBroker
) -> None:
    adapter.submit(_request("og" + "a1" * 12, qty=Decimal(11), variety=OrderVariety.ICEBERG))
    [row] = fake.all_orders()
    assert row["variety"] == "iceberg"
    assert row["meta"]["iceberg"] == {"legs": 5, "leg_quantity": 3, "total_quantity": 11}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"symbol": "NFO:NIFTY26DECFUT", "qty": Decimal(75), "product": Product.CNC}, "product",
         "cash equity"),
        ({"variety": OrderVariety.CO}, "variety", "bracket"),
        ({"variety": OrderVariety.AUCTION}, "variety", "auction number"),
        ({"variety": OrderVariety.ICEBERG, "order_type": OrderType.MARKET, "limit_price": None},
         "variety", "LIMIT"),
    ],
)  # fmt: skip
def test_what_kite_would_refuse_is_refused_before_sending(
    fake: FakeKite, adapter: KiteBroker, changes: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(BrokerRejected) as info:
        adapter.submit(_request("og" + "b2" * 12, **changes))
    assert info.value.code is ErrorCode.E_INTENT_INVALID
    assert info.value.context["field"] == field
    assert words in info.value.message
    assert _posts(fake) == [], "nothing left for Kite"


def test_the_engine_reports_the_refusal_with_its_code(fake: FakeKite, adapter: KiteBroker) -> None:
    engine = ExecutionEngine(MemoryStore(), adapter)
    report = engine.submit(
        {"idempotency_key": "pv-3", "symbol": "INFY", "side": "BUY", "qty": "1", "variety": "co"}
    )
    assert report.status is OrderStatus.REJECTED
    assert report.error_code == "E_INTENT_INVALID"
    assert _posts(fake) == []


@pytest.mark.parametrize(("field", "value"), [("product", "DELIVERY"), ("variety", "bo")])
def test_an_unknown_product_or_variety_is_an_invalid_intent(field: str, value: str) -> None:
    with pytest.raises(InvalidIntent) as info:
        OrderIntent.parse(
            {"idempotency_key": "k", "symbol": "INFY", "side": "BUY", "qty": "1", field: value}
        )
    assert info.value.field == field
    assert info.value.code is ErrorCode.E_INTENT_INVALID


def test_an_intent_without_a_variety_keeps_its_payload_hash() -> None:
    bare = {"idempotency_key": "k", "symbol": "INFY", "side": "BUY", "qty": "1"}
    intent = OrderIntent.parse(bare)
    assert "variety" not in intent.to_dict()
    assert OrderIntent.parse({**bare, "variety": "amo"}).payload_hash() != intent.payload_hash()
    # the hash of the same intent before the field existed (pinned)
    assert intent.payload_hash() == (
        "0fc0a7f8b14fad3e6b5e6d836d397036668c22f39dc9abab9bab9bd003e85303"
    )


def _settled(engine: ExecutionEngine, count: int) -> list[object]:
    deadline = time.monotonic() + 10
    while True:
        legs = [o for o in engine.orders() if o.parent_order_id and o.reason != "armed"]
        waiting = (OrderStatus.PENDING, OrderStatus.SUBMITTED)
        if len(legs) >= count and all(o.status not in waiting for o in legs):
            return legs
        assert time.monotonic() < deadline, engine.orders()
        time.sleep(0.05)


def test_an_intraday_bracket_s_stop_goes_as_a_day_order_with_the_entry_s_product(
    fake: FakeKite, adapter: KiteBroker
) -> None:
    engine = ExecutionEngine(MemoryStore(), adapter)
    entry = {"symbol": "INFY", "side": "BUY", "qty": "2", "sl_offset_pct": "-0.02"}
    engine.submit({**entry, "idempotency_key": "br-mis", "tp_offset_pct": "0.03"})
    [stop] = _settled(engine, 1)
    assert stop.status is OrderStatus.ACCEPTED, stop  # type: ignore[attr-defined]
    rows = [r for r in fake.all_orders() if r["transaction_type"] == "SELL"]
    assert [(r["order_type"], r["validity"], r["product"]) for r in rows] == [
        ("SL-M", "DAY", "MIS")
    ]


def test_a_carried_bracket_s_stop_is_refused_saying_why(
    fake: FakeKite, adapter: KiteBroker
) -> None:
    engine = ExecutionEngine(MemoryStore(), adapter)
    engine.submit(
        {
            "idempotency_key": "br-nrml",
            "symbol": "NFO:NIFTY26DECFUT",
            "side": "BUY",
            "qty": "75",
            "product": "NRML",
            "sl_offset_pct": "-0.02",
        }
    )
    [stop] = _settled(engine, 1)
    assert stop.status is OrderStatus.REJECTED  # type: ignore[attr-defined]
    assert stop.error_code == "E_INTENT_INVALID"  # type: ignore[attr-defined]
    assert "GTT" in stop.error_message  # type: ignore[attr-defined]
    assert [r["transaction_type"] for r in fake.all_orders()] == ["BUY"], "no MIS stop sent"
