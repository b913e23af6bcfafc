"""A native iceberg over IB: the engine's iceberg parent is one placeOrder of the whole
quantity with ``displaySize`` set to the display quantity (issue 18)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import BrokerRejected
from ordergate.domain.wire import OrderRequest
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.base import OrderQuery
from ordergate.store.sqlite import SqliteStore
from tests.brokers.ibkr.fake_tws import FakeTws
from tests.brokers.ibkr.harness import LABEL, IbkrHarness


@pytest.fixture
def engine(ibkr: IbkrHarness, tmp_path: Path) -> Iterator[ExecutionEngine]:
    store = SqliteStore(tmp_path / "og.db")
    store.migrate()
    yield ExecutionEngine(store, ibkr.adapter)
    store.close()


def test_an_iceberg_parent_is_one_ib_order_with_display_size(
    ibkr: IbkrHarness, tws: FakeTws, engine: ExecutionEngine
) -> None:
    assert ibkr.adapter.capabilities.display_qty
    report = engine.submit(
        {
            "idempotency_key": "ice-1",
            "account_id": LABEL,
            "symbol": "AAPL",
            "side": "BUY",
            "qty": "100",
            "order_type": "LIMIT",
            "limit_price": "50",  # far below the market: it rests
            "algo": {"kind": "iceberg", "display_qty": "30"},
        }
    )
    assert report.status is OrderStatus.ACCEPTED, report
    [child] = [o for o in engine.orders(OrderQuery(limit=10)) if o.parent_order_id]
    assert child.qty == Decimal(100)
    [placed] = tws.by_ref(child.client_order_id)
    assert placed.view.qty == Decimal(100)
    assert placed.view.display_size == 30
    engine.algos.tick()
    assert len(tws.orders) == 1  # the broker refills the display, not the engine
    engine.algos.cancel(report.order_id)


def test_a_plain_order_shows_all_and_a_fraction_of_a_share_is_refused(
    ibkr: IbkrHarness, tws: FakeTws
) -> None:
    def request(cid: str, display: str | None) -> OrderRequest:
        return OrderRequest(
            client_order_id=cid,
            account_id=LABEL,
            symbol="AAPL",
            side=Side.BUY,
            qty=Decimal(10),
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.DAY,
            limit_price=Decimal(50),
            display_qty=None if display is None else Decimal(display),
        )

    ibkr.adapter.submit(request("og-plain", None))
    [plain] = tws.by_ref("og-plain")
    assert plain.view.display_size == 0
    with pytest.raises(BrokerRejected):
        ibkr.adapter.submit(request("og-half", "2.5"))
    assert tws.by_ref("og-half") == []
