"""The venue's indexes: open orders, working orders by symbol, deadlines in a heap.

What one event or one order costs must not grow with the book; these tests pin down
that the indexes answer exactly what a scan of every order would.
"""

from __future__ import annotations

from datetime import timedelta

from simkit import D, at, mark, req

from ordergate.domain.enums import OrderStatus
from ordergate.sim.fees import NoFees
from ordergate.sim.fills import NoSlippage
from ordergate.sim.latency import FixedLatency
from ordergate.sim.matching import FillModel
from ordergate.sim.state import venue_from_json, venue_to_json
from ordergate.sim.venue import SimulatedVenue

S = OrderStatus


def venue(**kw: object) -> SimulatedVenue:
    options: dict[str, object] = {
        "fill_model": FillModel(slippage=NoSlippage()),
        "fee_model": NoFees(),
        "fill_at_arrival": False,
    }
    options.update(kw)
    return SimulatedVenue(**options)  # type: ignore[arg-type]


def scanned_open(v: SimulatedVenue) -> list[str]:
    return [cid for cid, o in v.orders.items() if o.status.is_open]


def test_open_orders_are_every_order_not_final_in_flight_included() -> None:
    v = venue(latency=FixedLatency(timedelta(seconds=1)))
    v.on_event(mark("100", 0))
    v.submit(req("BUY", "1", cid="market"), at(0))
    v.submit(req("BUY", "1", "LIMIT", limit="90", cid="resting"), at(0))
    v.submit(req("SELL", "1", "LIMIT", limit="200", cid="canceled"), at(0))
    assert [o.request.client_order_id for o in v.open_orders()] == [
        "market",
        "resting",
        "canceled",
    ]  # all three still in flight
    v.cancel("canceled", at(0.5))
    v.on_event(mark("100", 2))  # the market order arrives and fills; the cancel lands
    assert [o.request.client_order_id for o in v.open_orders()] == ["resting"]
    assert [o.request.client_order_id for o in v.open_orders()] == scanned_open(v)
    assert v.orders["market"].status is S.FILLED
    assert v.orders["canceled"].status is S.CANCELED


def test_a_canceled_resting_order_leaves_its_symbol_and_the_others_keep_their_turn() -> None:
    v = venue()
    v.on_event(mark("100", 0, volume="10"))
    for i in range(5):
        v.submit(req("BUY", "4", "LIMIT", limit="99", cid=f"b{i}"), at(0))
    v.cancel("b2", at(1))
    assert [o.request.client_order_id for o in v.working("AAPL")] == ["b0", "b1", "b3", "b4"]
    # participation is off: one event at the limit fills every working order, oldest first
    v.on_event(mark("99", 2))
    v.drain_changes()
    assert v.working("AAPL") == []
    executions = sorted(
        (o.executions[0].exec_id, cid) for cid, o in v.orders.items() if o.executions
    )
    assert [cid for _, cid in executions] == ["b0", "b1", "b3", "b4"]


def test_only_the_events_symbol_is_matched() -> None:
    v = venue()
    v.on_event(mark("100", 0, symbol="AAPL"))
    v.on_event(mark("50", 0, symbol="MSFT"))
    v.submit(req("BUY", "1", "LIMIT", limit="99", cid="a", symbol="AAPL"), at(0))
    v.submit(req("BUY", "1", "LIMIT", limit="49", cid="m", symbol="MSFT"), at(0))
    v.on_event(mark("40", 1, symbol="MSFT"))
    assert v.orders["m"].status is S.FILLED
    assert v.orders["a"].status is S.ACCEPTED
    assert [o.request.client_order_id for o in v.working("AAPL")] == ["a"]


def test_orders_expiring_together_are_reported_in_arrival_order() -> None:
    v = venue()
    v.on_event(mark("100", 0))
    # later arrivals run out earlier: the heap pops them first, the report must not
    for i in range(6):
        expiry = at(100 - i * 10)
        v.submit(
            req("BUY", "1", "LIMIT", limit="50", tif="GTD", expire_at=expiry, cid=f"g{i}"), at(i)
        )
    v.drain_changes()
    v.on_event(mark("100", 1000))
    changed = v.drain_changes()
    assert [o.request.client_order_id for o in changed] == [f"g{i}" for i in range(6)]
    assert all(o.status is S.EXPIRED and o.ts == o.deadline for o in changed)
    assert v.open_orders() == []


def test_an_order_is_alive_through_its_deadline() -> None:
    v = venue()
    v.on_event(mark("100", 0))
    v.submit(req("BUY", "1", "LIMIT", limit="50", tif="GTD", expire_at=at(10), cid="g"), at(0))
    v.on_event(mark("100", 10))
    assert v.orders["g"].status is S.ACCEPTED
    v.on_event(mark("100", 10.001))
    assert v.orders["g"].status is S.EXPIRED


def test_deadlines_of_orders_that_filled_do_not_pile_up() -> None:
    v = venue()
    v.on_event(mark("100", 0))
    far = at(10_000_000)
    for i in range(2000):
        v.submit(req("BUY", "1", tif="GTD", expire_at=far, cid=f"o{i}"), at(i))
        v.on_event(mark("100", i + 0.5))  # fills it
    assert v.open_orders() == []
    assert len(v._expiries) <= 2 * len(v._timed) + 65


def test_a_restored_book_expires_and_matches_like_the_original() -> None:
    def build() -> SimulatedVenue:
        v = venue(latency=FixedLatency(timedelta(seconds=1)))
        v.on_event(mark("100", 0))
        for i in range(4):
            v.submit(
                req("BUY", "1", "LIMIT", limit="90", tif="GTD", expire_at=at(50 - i), cid=f"g{i}"),
                at(i),
            )
        v.submit(req("BUY", "1", "LIMIT", limit="95", cid="gtc"), at(0))
        v.on_event(mark("100", 10))
        return v

    original = build()
    copy = venue(latency=FixedLatency(timedelta(seconds=1)))
    venue_from_json(copy, venue_to_json(original))
    for v in (original, copy):
        v.drain_changes()
        v.on_event(mark("94", 100))
    assert venue_to_json(copy) == venue_to_json(original)
    assert [o.request.client_order_id for o in copy.drain_changes()] == [
        "g0",
        "g1",
        "g2",
        "g3",
        "gtc",
    ]
    assert copy.orders["gtc"].status is S.FILLED
    assert copy.orders["gtc"].executions[0].last_px == D("94")
