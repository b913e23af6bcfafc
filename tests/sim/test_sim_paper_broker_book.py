"""The paper broker's bookkeeping: open orders from the venue's index, nothing kept
for a state file it does not have, listeners added while it runs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from simkit import T0, D, mark, req

from ordergate.brokers.base import BrokerOrder
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.sim.fees import NoFees
from ordergate.sim.fills import NoSlippage
from ordergate.sim.latency import FixedLatency
from ordergate.sim.matching import FillModel

S = OrderStatus


def broker(**kw: object) -> tuple[PaperBroker, SimulatedClock]:
    clock = SimulatedClock(T0)
    options: dict[str, object] = {
        "fill_model": FillModel(slippage=NoSlippage()),
        "fee_model": NoFees(),
    }
    options.update(kw)
    return PaperBroker(clock=clock, **options), clock  # type: ignore[arg-type]


def test_open_orders_include_those_in_flight_in_the_order_sent() -> None:
    b, clock = broker(latency=FixedLatency(timedelta(seconds=1)))
    b.on_mark(mark("100"))
    b.submit(req("BUY", "1", "LIMIT", limit="90", cid="rest"))
    b.submit(req("BUY", "1", cid="mkt"))
    b.submit(req("SELL", "1", "LIMIT", limit="150", cid="high"))
    assert [o.client_order_id for o in b.fetch_open_orders()] == ["rest", "mkt", "high"]
    clock.set(T0 + timedelta(seconds=2))
    b.advance()  # everything arrives; the market order waits for the next event
    b.on_mark(mark("101", 3))
    assert [o.client_order_id for o in b.fetch_open_orders()] == ["rest", "high"]
    assert b.cancel("rest").status is S.PENDING_CANCEL  # the cancel is in flight too
    assert [o.client_order_id for o in b.fetch_open_orders()] == ["rest", "high"]
    clock.set(T0 + timedelta(seconds=5))
    b.advance()
    assert [o.client_order_id for o in b.fetch_open_orders()] == ["high"]
    finished = b.fetch_order("mkt")
    assert finished is not None
    assert finished.status is S.FILLED


def test_without_a_state_file_nothing_is_kept_to_write_back() -> None:
    b, _ = broker()
    b.on_mark(mark("100"))
    for i in range(50):
        b.submit(req("BUY" if i % 2 else "SELL", "1", cid=f"o{i}"))
        b.on_mark(mark("100", i))
    b.cancel("o3")
    assert b._dirty == set()


def test_a_state_file_gets_every_order_a_change_touched(tmp_path: Path) -> None:
    path = tmp_path / "paper.sqlite"
    first, _ = broker(state_file=path)
    first.on_mark(mark("100"))
    first.submit(req("BUY", "2", "LIMIT", limit="99", cid="a"))
    first.submit(req("BUY", "2", "LIMIT", limit="98", cid="b"))
    first.on_mark(mark("98.5", 1))  # fills "a" only: a change the submit did not make
    second, _ = broker(state_file=path)
    a, b = second.fetch_order("a"), second.fetch_order("b")
    assert a is not None
    assert b is not None
    assert a.status is S.FILLED
    assert a.avg_price == D("98.5")
    assert b.status is S.ACCEPTED
    assert [o.client_order_id for o in second.fetch_open_orders()] == ["b"]


def test_a_listener_added_later_hears_only_later_changes() -> None:
    b, _ = broker()
    early: list[BrokerOrder] = []
    late: list[BrokerOrder] = []
    b.subscribe(early.append)
    b.on_mark(mark("100"))
    b.submit(req("BUY", "1", "LIMIT", limit="99", cid="x"))
    b.submit(req("BUY", "1", "LIMIT", limit="98", cid="y"))
    b.on_mark(mark("98.99", 1))  # fills x (a print at 99 would only touch it)
    b.subscribe(late.append)
    b.on_mark(mark("97.99", 2))  # fills y
    assert [(o.client_order_id, o.status) for o in early] == [("x", S.FILLED), ("y", S.FILLED)]
    assert [(o.client_order_id, o.status) for o in late] == [("y", S.FILLED)]
