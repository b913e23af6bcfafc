"""The paper broker over the venue: its old behaviour, partial fills, threads, state."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest
from simkit import T0, D, mark, req

from ordergate.brokers.base import BrokerAdapter, BrokerOrder, MarketDataSink
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerRejected
from ordergate.sim.fees import NoFees
from ordergate.sim.fills import NoSlippage
from ordergate.sim.matching import FillModel

S = OrderStatus


def broker(**kw: object) -> tuple[PaperBroker, SimulatedClock]:
    clock = SimulatedClock(T0)
    return PaperBroker(clock=clock, **kw), clock  # type: ignore[arg-type]


def test_it_is_a_broker_adapter_and_a_market_data_sink() -> None:
    b, _ = broker()
    assert isinstance(b, BrokerAdapter)
    assert isinstance(b, MarketDataSink)
    assert b.adapter_id == "paper"
    assert b.dedupes_client_order_id


def test_market_order_without_a_mark_is_rejected() -> None:
    b, _ = broker()
    with pytest.raises(BrokerRejected, match="mark it first"):
        b.submit(req("BUY", "1"))


def test_market_order_fills_at_once_and_a_resend_is_deduped() -> None:
    b, _ = broker()
    b.on_mark(mark("100"))
    request = req("BUY", "10")
    receipt = b.submit(request)
    assert receipt.status is S.FILLED
    assert receipt.avg_price == D("100.05")
    assert receipt.executions[0].commission == D("1.00")
    again = b.submit(request)
    assert again.broker_order_id == receipt.broker_order_id
    assert len(b.fetch_open_orders()) == 0
    assert b.fetch_positions()[0].qty == D(10)
    account = b.fetch_account()
    assert account.cash == D(1_000_000) - D("1000.5") - D(1)


def test_resting_limit_fills_on_a_later_mark_and_listeners_hear_it() -> None:
    b, _ = broker()
    seen: list[BrokerOrder] = []
    b.subscribe(seen.append)
    b.on_mark(mark("100"))
    receipt = b.submit(req("BUY", "10", "LIMIT", limit="99"))
    assert receipt.status is S.ACCEPTED
    assert not seen
    b.on_mark(mark("98.9", 1))
    assert [v.status for v in seen] == [S.FILLED]
    # it rested: a maker, at the better price the mark gapped to, with no slippage
    assert seen[0].executions[0].last_px == D("98.9")
    assert seen[0].executions[0].liquidity == "M"


def test_partial_fills_flow_as_cumulative_updates() -> None:
    model = FillModel(slippage=NoSlippage(), participation=D("0.1"))
    b, _ = broker(fill_model=model, fee_model=NoFees())
    seen: list[BrokerOrder] = []
    b.subscribe(seen.append)
    b.on_mark(mark("100", 0, volume="2000"))
    receipt = b.submit(req("BUY", "500"))
    assert receipt.filled_qty == D(200)
    assert receipt.status is S.PARTIALLY_FILLED
    b.on_mark(mark("100", 1, volume="2000"))
    b.on_mark(mark("100", 2, volume="2000"))
    assert [v.filled_qty for v in seen] == [D(400), D(500)]
    assert [len(v.executions) for v in seen] == [2, 3]
    assert seen[-1].status is S.FILLED


def test_cancel_and_unknown_cancel() -> None:
    b, _ = broker()
    b.on_mark(mark("100"))
    request = req("BUY", "10", "LIMIT", limit="90")
    b.submit(request)
    assert b.cancel(request.client_order_id).status is S.CANCELED
    with pytest.raises(BrokerRejected):
        b.cancel("nope")
    assert b.fetch_order("nope") is None


def test_state_file_is_shared_between_instances(tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    first, _ = broker(state_file=path)
    first.on_mark(mark("100"))
    resting = req("SELL", "5", "LIMIT", limit="101")
    first.submit(req("BUY", "10"))
    first.submit(resting)
    second, _ = broker(state_file=path)
    assert second.fetch_positions()[0].qty == D(10)
    second.on_mark(mark("102", 1))
    view = first.fetch_order(resting.client_order_id)
    assert view is not None
    assert view.status is S.FILLED


def test_many_threads_one_book() -> None:
    b, _ = broker(fee_model=NoFees())
    b.on_mark(mark("100"))
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(200):
                b.submit(req("BUY" if i % 2 else "SELL", "1", cid=f"t{n}-{i}"))
                b.on_mark(mark("100", 0))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(b.venue.orders) == 1600
    assert b.venue.next_exec == 1601
    assert sum(Decimal(1) for o in b.venue.orders.values() if o.status is S.FILLED) == 1600
