"""A native iceberg over FIX: the engine's iceberg parent is one NewOrderSingle of the
whole quantity with MaxFloor (111) set to the display quantity (issue 18)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ordergate.domain.enums import OrderStatus
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.base import OrderQuery
from ordergate.store.sqlite import SqliteStore
from tests.brokers.fix.kit import ACCOUNT, FixRig, until


def test_an_iceberg_parent_goes_out_as_one_order_with_max_floor(
    rig: FixRig, tmp_path: Path
) -> None:
    assert rig.adapter.capabilities.display_qty
    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    engine = ExecutionEngine(store, rig.adapter)
    engine.mark("AAPL", "100")
    report = engine.submit(
        {
            "idempotency_key": "ice-1",
            "account_id": ACCOUNT,
            "symbol": "AAPL",
            "side": "BUY",
            "qty": "100",
            "order_type": "LIMIT",
            "limit_price": "90",  # below the mark: it rests
            "algo": {"kind": "iceberg", "display_qty": "30"},
        }
    )
    assert report.status is OrderStatus.ACCEPTED, report
    until(lambda: any(m["35"] == "D" for m in rig.counterparty.received), "the NewOrderSingle")
    [new] = [m for m in rig.counterparty.received if m["35"] == "D"]
    assert new["111"] == "30"
    [child] = [o for o in engine.orders(OrderQuery(limit=10)) if o.parent_order_id]
    assert child.qty == Decimal(100)
    assert child.client_order_id == new["11"]
    engine.algos.tick()
    assert len([m for m in rig.counterparty.received if m["35"] == "D"]) == 1
    engine.algos.cancel(report.order_id)


def test_a_plain_order_carries_max_floor_only_when_it_asks(rig: FixRig, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    engine = ExecutionEngine(store, rig.adapter)
    engine.mark("AAPL", "100")
    report = engine.submit(
        {"idempotency_key": "plain-1", "account_id": ACCOUNT, "symbol": "AAPL", "side": "BUY",
         "qty": "10", "order_type": "LIMIT", "limit_price": "90", "display_qty": "4"}
    )  # fmt: skip
    assert report.status is OrderStatus.ACCEPTED, report
    report = engine.submit(
        {"idempotency_key": "plain-2", "account_id": ACCOUNT, "symbol": "AAPL", "side": "BUY",
         "qty": "10", "order_type": "LIMIT", "limit_price": "90"}
    )  # fmt: skip
    assert report.status is OrderStatus.ACCEPTED, report
    until(lambda: len([m for m in rig.counterparty.received if m["35"] == "D"]) == 2, "two orders")
    floors = [m["111"] for m in rig.counterparty.received if m["35"] == "D"]
    assert floors == ["4", None]
