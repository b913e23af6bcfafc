"""Fill models against hand-computed cases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from simkit import D, at, bar, mark, req

from ordergate.domain.enums import OrderStatus, Side
from ordergate.sim.data import Quote, Tick, price_path
from ordergate.sim.fees import NoFees
from ordergate.sim.fills import BidAsk, FixedBps, NoSlippage, SquareRootImpact
from ordergate.sim.matching import FillModel, fill_model_from_name, match
from ordergate.sim.venue import SimulatedVenue


def venue(model: FillModel | None = None, **kw: object) -> SimulatedVenue:
    return SimulatedVenue(fill_model=model or FillModel(), fee_model=NoFees(), **kw)  # type: ignore[arg-type]


def test_market_buy_at_100_with_5_bps_fills_at_100_05() -> None:
    v = venue()
    v.on_event(mark("100.00"))
    order = v.submit(req("BUY", "10"), at(1))
    assert order.status is OrderStatus.FILLED
    assert order.executions[0].last_px == D("100.05")


def test_market_sell_with_5_bps_fills_under_last() -> None:
    v = venue()
    v.on_event(mark("100.00"))
    assert v.submit(req("SELL", "10"), at(1)).executions[0].last_px == D("99.95")


def test_bid_ask_buys_at_ask_sells_at_bid_and_falls_back_without_quote() -> None:
    model = BidAsk(FixedBps(D(5)))
    tick = Tick(D("100"), D("99.98"), D("100.02"))
    assert model.price(Side.BUY, D(1), tick, None) == D("100.02")
    assert model.price(Side.SELL, D(1), tick, None) == D("99.98")
    assert model.price(Side.BUY, D(1), Tick(D("100")), None) == D("100.05")


def test_quote_event_fills_a_market_buy_at_the_ask() -> None:
    v = venue(FillModel(slippage=BidAsk()), fill_at_arrival=False)
    v.submit(req("BUY", "5"), at(0))
    v.on_event(Quote(symbol="AAPL", ts=at(1), bid=D("99.9"), ask=D("100.1")))
    assert v.orders[next(iter(v.orders))].executions[0].last_px == D("100.1")


def test_participation_fills_200_per_bar_over_five_bars() -> None:
    v = venue(FillModel(slippage=NoSlippage(), participation=D("0.10")), fill_at_arrival=False)
    order = v.submit(req("BUY", "1000"), at(0))
    for i in range(1, 7):
        v.on_event(bar("100", "101", "99", "100.5", i * 60, volume="2000"))
    assert [e.last_qty for e in order.executions] == [D(200)] * 5
    assert order.status is OrderStatus.FILLED
    assert [e.last_px for e in order.executions] == [D(100)] * 5  # each at the bar's open


def test_participation_cap_is_shared_between_orders_on_one_event() -> None:
    v = venue(FillModel(slippage=NoSlippage(), participation=D("0.10")), fill_at_arrival=False)
    first = v.submit(req("BUY", "150"), at(0))
    second = v.submit(req("BUY", "150"), at(0))
    v.on_event(mark("100", 1, volume="2000"))
    assert first.filled_qty == D(150)
    assert second.filled_qty == D(50)  # 200 in total, oldest first


def test_square_root_impact_hand_computed() -> None:
    model = SquareRootImpact(sigma=D("0.02"), coefficient=D(1))
    # 0.02 * sqrt(1000 / 100000) = 0.002 = 20 bps
    assert model.price(Side.BUY, D(1000), Tick(D(100)), D(100_000)) == D("100.200000")
    assert model.price(Side.SELL, D(1000), Tick(D(100)), D(100_000)) == D("99.800000")
    assert model.impact(D(1000), None) == 0


def test_non_marketable_limit_never_fills() -> None:
    v = venue()
    order = v.submit(req("BUY", "10", "LIMIT", limit="99"), at(0))
    for i, px in enumerate(["100", "99.5", "99.1", "100.2"]):
        v.on_event(mark(px, i + 1))
    v.on_event(bar("100", "100.5", "99.0", "100.2", 10))  # touches 99, never through
    assert order.status is OrderStatus.ACCEPTED
    assert not order.executions


@given(
    limit=st.decimals(min_value=50, max_value=150, places=2),
    prices=st.lists(st.decimals(min_value=1, max_value=300, places=2), min_size=1, max_size=20),
)
def test_a_buy_limit_fills_at_the_limit_or_better_and_only_when_reached(
    limit: Decimal, prices: list[Decimal]
) -> None:
    v = venue()
    order = v.submit(req("BUY", "1", "LIMIT", limit=str(limit)), at(0))
    for i, px in enumerate(prices):
        v.on_event(mark(str(px), i + 1))
    if prices[0] <= limit:  # marketable at the first price it meets: a taker, capped
        assert order.executions[0].last_px == min(limit, prices[0] * D("1.0005"))
        assert order.executions[0].liquidity == "T"
    elif any(px < limit for px in prices):  # it rested: the first print through it
        assert order.executions[0].last_px == next(px for px in prices if px < limit)
        assert order.executions[0].liquidity == "M"
    else:
        assert not order.executions


def test_limit_crossed_inside_a_bar_fills_at_the_limit() -> None:
    v = venue(fill_at_arrival=False)
    order = v.submit(req("BUY", "10", "LIMIT", limit="99.50"), at(0))
    v.on_event(bar("100", "100.5", "99", "99.8", 60))  # up bar? no: close < open → O H L C
    assert order.executions[0].last_px == D("99.50")


def test_limit_gapped_through_fills_at_the_better_open() -> None:
    v = venue(FillModel(slippage=NoSlippage()), fill_at_arrival=False)
    order = v.submit(req("BUY", "10", "LIMIT", limit="99.50"), at(0))
    v.on_event(bar("98", "99", "97", "98.5", 60))
    assert order.executions[0].last_px == D("98")


def test_gap_through_a_stop_fills_at_the_open_not_the_stop() -> None:
    v = venue(FillModel(slippage=NoSlippage()), fill_at_arrival=False)
    order = v.submit(req("SELL", "10", "STOP", stop="95"), at(0))
    v.on_event(bar("100", "101", "99", "100", 60))
    assert not order.executions
    v.on_event(bar("90", "92", "89", "91", 120))  # gaps down through 95
    assert order.executions[0].last_px == D("90")


def test_stop_crossed_inside_a_bar_fills_at_the_stop_plus_slippage() -> None:
    v = venue(fill_at_arrival=False)
    order = v.submit(req("BUY", "10", "STOP", stop="101"), at(0))
    v.on_event(bar("100", "102", "99.5", "101.5", 60))
    assert order.executions[0].last_px == D("101") * D("1.0005")


def test_stop_limit_triggers_then_rests_as_a_limit() -> None:
    v = venue(FillModel(slippage=NoSlippage()), fill_at_arrival=False)
    order = v.submit(req("BUY", "10", "STOP_LIMIT", stop="101", limit="100.5"), at(0))
    v.on_event(bar("100", "102", "99.9", "101.5", 60))  # up: O L H C — triggers at 101 on L→H
    assert order.triggered
    assert not order.executions
    v.on_event(mark("100.4", 61))
    assert order.executions[0].last_px == D("100.4")


def test_intrabar_path_is_by_direction() -> None:
    up = [t.price for t in price_path(bar("100", "105", "95", "104", 1))]
    down = [t.price for t in price_path(bar("100", "105", "95", "96", 1))]
    assert up == [D(100), D(95), D(105), D(104)]
    assert down == [D(100), D(105), D(95), D(96)]


def test_path_order_decides_which_of_stop_and_limit_comes_first() -> None:
    # up bar O→L→H→C: the sell stop at 96 is hit before the high
    path = price_path(bar("100", "105", "95", "104", 1))
    found = match(req("SELL", "1", "STOP", stop="96"), False, path, NoSlippage(), D(1), None)
    assert found.price == D(96)


@pytest.mark.parametrize(
    ("name", "kind", "rate"),
    [
        ("fixed_bps", FixedBps, None),
        ("bid_ask", BidAsk, None),
        ("participation", FixedBps, D("0.10")),
    ],
)
def test_fill_model_from_name(name: str, kind: type, rate: Decimal | None) -> None:
    model = fill_model_from_name(name)
    assert isinstance(model.slippage, kind)
    assert model.participation == rate
    with pytest.raises(ValueError, match="unknown fill model"):
        fill_model_from_name("magic")
