"""The venue: latency, no look-ahead, time in force, determinism."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, time, timedelta

from simkit import D, at, bar, mark, req

from ordergate.domain.enums import OrderStatus
from ordergate.sim.fees import NoFees, PerShareFee
from ordergate.sim.fills import NoSlippage
from ordergate.sim.latency import FixedLatency, RandomLatency
from ordergate.sim.matching import FillModel
from ordergate.sim.state import venue_from_json, venue_to_json
from ordergate.sim.tif import Session
from ordergate.sim.venue import SimulatedVenue

S = OrderStatus


def backtest_venue(**kw: object) -> SimulatedVenue:
    options: dict[str, object] = {
        "fill_model": FillModel(slippage=NoSlippage()),
        "fee_model": NoFees(),
        "fill_at_arrival": False,
    }
    options.update(kw)
    return SimulatedVenue(**options)  # type: ignore[arg-type]


def test_an_order_decided_on_a_bar_close_never_fills_at_that_close() -> None:
    v = backtest_venue()
    v.on_event(bar("100", "101", "99", "100.5", 60))
    order = v.submit(req("BUY", "1"), at(60))  # decided on the close of that bar
    assert not order.executions
    v.on_event(bar("102", "103", "101", "102.5", 120))
    assert order.executions[0].last_px == D(102)  # the next open, not 100.5


def test_an_order_arriving_during_a_bar_trades_on_its_path_from_arrival() -> None:
    v = backtest_venue(latency=FixedLatency(timedelta(seconds=10)))
    v.on_event(bar("100", "101", "99", "100.5", 60))
    order = v.submit(req("BUY", "1"), at(60))  # arrives at 70, inside the next bar
    # the bar 60..120 goes O 102 @60, L 101 @80, H 103 @100, C 102.5 @120: at 70 the
    # path is half way from 102 to 101
    v.on_event(bar("102", "103", "101", "102.5", 120))
    assert order.arrival == at(70)
    assert order.executions[0].last_px == D("101.5")
    assert order.executions[0].ts == at(70)


def test_a_limit_arriving_during_a_bar_fills_where_the_rest_of_the_path_crosses_it() -> None:
    v = backtest_venue(latency=FixedLatency(timedelta(seconds=30)))
    v.on_event(bar("100", "101", "99", "100.5", 60))
    order = v.submit(req("SELL", "1", "LIMIT", limit="102.75"), at(60))  # arrives at 90
    # at 90 the path is half way from L 101 (80) to H 103 (100): 102, under the limit;
    # it rests, and the move up to 103 goes through 102.75 at 97.5
    v.on_event(bar("102", "103", "101", "102.5", 120))
    fill = order.executions[0]
    assert (fill.last_px, fill.liquidity, fill.ts) == (D("102.75"), "M", at(97.5))


def test_one_millisecond_of_latency_on_daily_bars_still_gets_the_next_open() -> None:
    from ordergate.sim.data import Bar, with_bar_starts

    day = timedelta(days=1)
    days = [
        Bar(symbol="AAPL", ts=at(0) + i * day, open=D(o), high=D(h), low=D(lo), close=D(c))
        for i, (o, h, lo, c) in enumerate(
            [("100", "101", "99", "100"), ("104", "105", "103", "104.5")]
        )
    ]
    first, second = with_bar_starts(days)
    # the span the series shows is one day, and a daily bar keeps to its own date
    midnight = datetime(2026, 1, 6, tzinfo=UTC)
    assert second.start == midnight
    v = backtest_venue(latency=FixedLatency(timedelta(milliseconds=1)))
    v.on_event(first)
    order = v.submit(req("BUY", "1"), at(0))  # arrives 1 ms after the first close
    v.on_event(second)
    assert order.executions[0].last_px == D("104")  # the open, when that day began
    assert order.executions[0].ts == midnight


def test_an_intraday_bar_keeps_its_span_and_arrival_inside_it_interpolates() -> None:
    from ordergate.sim.data import Bar, with_bar_starts

    minute = timedelta(minutes=1)
    series = [
        Bar(symbol="AAPL", ts=at(0) + i * minute, open=D(o), high=D(h), low=D(lo), close=D(c))
        for i, (o, h, lo, c) in enumerate(
            [("100", "101", "99", "100"), ("100", "100.6", "99.4", "100.6"),
             ("100.6", "101", "100", "100.2")]
        )
    ]  # fmt: skip
    _, second, third = with_bar_starts(series)
    assert (second.start, third.start) == (at(0), at(60))
    v = backtest_venue(latency=FixedLatency(timedelta(seconds=5)))
    v.on_event(series[0])
    order = v.submit(req("BUY", "1"), at(0))  # arrives at 5 s, a quarter of O -> L
    v.on_event(second)
    # up bar: O 100 @0, L 99.4 @20 s, H 100.6 @40 s, C 100.6 @60 s: 100 - 0.6 / 4 = 99.85,
    # to the data's 0.1, half to even: 99.8
    assert order.executions[0].last_px == D("99.8")
    assert order.executions[0].ts == at(5)


def test_latency_keeps_an_order_from_prices_before_it_arrives() -> None:
    v = backtest_venue(latency=FixedLatency(timedelta(milliseconds=500)))
    order = v.submit(req("BUY", "1"), at(0))
    v.on_event(mark("100", 0.2))
    assert not order.executions
    assert order.arrival is None
    v.on_event(mark("101", 0.7))
    assert order.executions[0].last_px == D(101)
    assert order.executions[0].ts == at(0.7)


def test_a_cancel_in_flight_races_a_fill() -> None:
    v = backtest_venue(latency=FixedLatency(timedelta(0), timedelta(seconds=1)))
    order = v.submit(req("BUY", "1", "LIMIT", limit="99"), at(0))
    v.cancel(order.request.client_order_id, at(1))
    assert order.view().status is S.PENDING_CANCEL
    v.on_event(mark("98", 1.5))  # the fill wins: the cancel arrives at 2
    assert order.status is S.FILLED
    v.on_event(mark("98", 2.5))
    assert order.status is S.FILLED


def test_a_cancel_that_arrives_first_cancels() -> None:
    v = backtest_venue()
    order = v.submit(req("BUY", "1", "LIMIT", limit="99"), at(0))
    v.cancel(order.request.client_order_id, at(1))
    v.on_event(mark("98", 2))
    assert order.status is S.CANCELED
    assert not order.executions


def test_day_order_expires_after_the_session_close() -> None:
    v = backtest_venue(session=Session(close=time(16, 0), tz="America/New_York"))
    order = v.submit(req("BUY", "1", "LIMIT", limit="90", tif="DAY"), at(0))
    close = datetime(2026, 1, 5, 21, 0, tzinfo=UTC)
    assert order.deadline == close
    v.on_event(mark("95", (close - at(0)).total_seconds()))  # at the close: still alive
    assert order.status is S.ACCEPTED
    v.on_event(mark("89", (close - at(0)).total_seconds() + 1))
    assert order.status is S.EXPIRED
    assert not order.executions
    assert order.ts == close


def test_day_without_a_session_is_good_till_canceled() -> None:
    v = backtest_venue()
    order = v.submit(req("BUY", "1", "LIMIT", limit="90", tif="DAY"), at(0))
    v.on_event(mark("89", 7 * 86400))
    assert order.status is S.FILLED


def test_session_close_skips_the_weekend() -> None:
    friday_evening = datetime(2026, 1, 9, 22, 0, tzinfo=UTC)
    assert Session().close_after(friday_evening) == datetime(2026, 1, 12, 21, 0, tzinfo=UTC)


def test_gtd_expires_at_its_time() -> None:
    v = backtest_venue()
    order = v.submit(req("BUY", "1", "LIMIT", limit="90", tif="GTD", expire_at=at(10)), at(0))
    v.on_event(mark("95", 5))
    v.on_event(mark("89", 11))
    assert order.status is S.EXPIRED


def test_ioc_takes_what_the_volume_allows_and_cancels_the_rest() -> None:
    v = backtest_venue(fill_model=FillModel(slippage=NoSlippage(), participation=D("0.1")))
    order = v.submit(req("BUY", "500", tif="IOC"), at(0))
    v.on_event(mark("100", 1, volume="2000"))
    assert order.filled_qty == D(200)
    assert order.status is S.CANCELED
    assert "rest canceled" in order.reason


def test_fok_trades_all_or_nothing() -> None:
    model = FillModel(slippage=NoSlippage(), participation=D("0.1"))
    v = backtest_venue(fill_model=model)
    big = v.submit(req("BUY", "500", tif="FOK"), at(0))
    small = v.submit(req("BUY", "100", tif="FOK"), at(0))
    v.on_event(mark("100", 1, volume="2000"))
    assert big.status is S.CANCELED
    assert not big.executions
    assert small.status is S.FILLED


def test_ioc_at_the_paper_broker_is_canceled_at_once_when_not_marketable() -> None:
    v = SimulatedVenue(fee_model=NoFees())
    v.on_event(mark("100", 0))
    order = v.submit(req("BUY", "1", "LIMIT", limit="90", tif="IOC"), at(1))
    assert order.status is S.CANCELED


def test_a_bar_echo_mark_does_not_trade_twice() -> None:
    v = backtest_venue(fill_model=FillModel(slippage=NoSlippage(), participation=D("0.1")))
    order = v.submit(req("BUY", "1000"), at(0))
    v.on_event(bar("100", "101", "99", "100", 60, volume="2000"))
    v.on_event(mark("100", 60, volume="2000"))
    assert order.filled_qty == D(200)


def _run(seed: int) -> str:
    latency = RandomLatency(
        timedelta(milliseconds=5), timedelta(milliseconds=50), random.Random(seed)
    )
    v = SimulatedVenue(
        fill_model=FillModel(participation=D("0.25")),
        fee_model=PerShareFee(),
        latency=latency,
        fill_at_arrival=False,
    )
    for i in range(200):
        v.submit(req("BUY" if i % 2 else "SELL", str(1 + i % 7), cid=f"o{i}"), at(i * 0.01))
        v.on_event(mark(str(100 + (i % 13) / 10), i * 0.01 + 0.005, volume=str(10 + i % 5)))
    return json.dumps(venue_to_json(v), sort_keys=True)


def test_two_runs_with_the_same_seed_are_identical() -> None:
    assert _run(7) == _run(7)
    assert _run(7) != _run(8)


def test_state_round_trips() -> None:
    v = backtest_venue(latency=FixedLatency(timedelta(seconds=1)))
    v.on_event(mark("100", 0))
    v.submit(req("BUY", "1", cid="a"), at(0))
    v.submit(req("BUY", "1", "LIMIT", limit="90", cid="b"), at(0))
    v.on_event(mark("100", 2))
    copy = backtest_venue(latency=FixedLatency(timedelta(seconds=1)))
    venue_from_json(copy, venue_to_json(v))
    assert venue_to_json(copy) == venue_to_json(v)
    copy.on_event(mark("89", 3))
    assert copy.orders["b"].status is S.FILLED
