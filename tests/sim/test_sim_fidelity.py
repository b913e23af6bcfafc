"""Fill cases of issue 16, each with numbers worked out by hand."""

from __future__ import annotations

from simkit import D, at, bar, mark, req

from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.market import Mark
from ordergate.sim.data import Bar, Quote, Trade
from ordergate.sim.fees import MakerTaker, NoFees
from ordergate.sim.fills import FixedBps, NoSlippage, SquareRootImpact
from ordergate.sim.matching import FillModel
from ordergate.sim.venue import SimulatedVenue


def backtest_venue(model: FillModel, **kw: object) -> SimulatedVenue:
    options: dict[str, object] = {"fill_model": model, "fee_model": NoFees()}
    options.update(kw)
    return SimulatedVenue(fill_at_arrival=False, **options)  # type: ignore[arg-type]


def quote(
    bid: str, ask: str, seconds: float, *, bid_size: str = "500", ask_size: str = "500"
) -> Quote:
    return Quote(
        symbol="AAPL",
        ts=at(seconds),
        bid=D(bid),
        ask=D(ask),
        bid_size=D(bid_size),
        ask_size=D(ask_size),
    )


def echo(event: Quote | Trade) -> Mark:
    """What the engine tells the venue after the event (the backtest loop's mark)."""
    if isinstance(event, Quote):
        return Mark(symbol=event.symbol, last=(event.bid + event.ask) / 2, bid=event.bid,
                    ask=event.ask, ts=event.ts)  # fmt: skip
    return Mark(symbol=event.symbol, last=event.price, volume=event.size, ts=event.ts)


def test_a_quote_is_matched_once_and_the_cap_is_its_displayed_size() -> None:
    v = backtest_venue(FillModel(slippage=NoSlippage(), participation=D("0.10")))
    order = v.submit(req("BUY", "1000"), at(0))
    event = quote("99.98", "100.02", 1)
    v.on_event(event)
    v.on_event(echo(event))
    # 10 % of an ask size of 500 is 50, and the echo mark trades nothing more
    assert [e.last_qty for e in order.executions] == [D(50)]
    assert order.executions[0].last_px == D("100.02")


def test_a_print_is_matched_once_and_the_cap_is_its_size() -> None:
    v = backtest_venue(FillModel(slippage=NoSlippage(), participation=D("0.10")))
    order = v.submit(req("SELL", "1000"), at(0))
    event = Trade(symbol="AAPL", ts=at(1), price=D("100"), size=D(2000))
    v.on_event(event)
    v.on_event(echo(event))
    assert [e.last_qty for e in order.executions] == [D(200)]  # 10 %, not 20 %


def test_a_market_order_on_a_quote_takes_the_far_side_plus_the_model() -> None:
    for model, buy, sell in [
        (NoSlippage(), D("100.02"), D("99.98")),
        # 5 bps from the mid is beyond this quote: 100 × 1.0005 and 100 × 0.9995
        (FixedBps(D(5)), D("100.05"), D("99.95")),
        # and inside a wide one, where it takes the far side
        (FixedBps(D(1)), D("100.02"), D("99.98")),
        # impact 0.02 × sqrt(100 / 10,000) = 20 bps on the far side, no extra half-spread
        (SquareRootImpact(adv=D(10_000), spread_bps=D(5)), D("100.220040"), D("99.780040")),
    ]:
        v = backtest_venue(FillModel(slippage=model))
        bought = v.submit(req("BUY", "100"), at(0))
        sold = v.submit(req("SELL", "100"), at(0))
        v.on_event(quote("99.98", "100.02", 1))
        assert bought.executions[0].last_px == buy, model
        assert sold.executions[0].last_px == sell, model
        mid = D(100)
        assert bought.executions[0].last_px > mid > sold.executions[0].last_px


def test_a_buy_limit_at_the_ask_is_marketable_in_paper_and_in_a_backtest() -> None:
    clock = SimulatedClock(at(0))
    paper = PaperBroker(clock=clock, fill_model=FillModel(), fee_model=NoFees())
    paper.on_mark(Mark(symbol="BTC", last=D(69_990), bid=D(69_980), ask=D(70_000), ts=at(0)))
    receipt = paper.submit(req("BUY", "1", "LIMIT", limit="70000", symbol="BTC"))
    assert receipt.status is OrderStatus.FILLED
    # 5 bps over the ask would be 70,035: a limit never pays more than its limit
    assert receipt.executions[0].last_px == D(70_000)
    assert receipt.executions[0].liquidity == "T"

    v = backtest_venue(FillModel())
    order = v.submit(req("BUY", "1", "LIMIT", limit="70000", symbol="BTC"), at(0))
    v.on_event(Quote(symbol="BTC", ts=at(1), bid=D(69_980), ask=D(70_000)))
    assert order.executions[0].last_px == D(70_000)


def test_a_resting_limit_is_a_maker_charged_the_maker_rate() -> None:
    v = backtest_venue(FillModel(), fee_model=MakerTaker(maker_bps=D(-1), taker_bps=D(5)))
    order = v.submit(req("BUY", "100", "LIMIT", limit="99.50"), at(0))
    v.on_event(bar("100", "100.5", "99", "99.8", 60))  # down bar: O H L C, through 99.50
    fill = order.executions[0]
    assert (fill.last_px, fill.liquidity) == (D("99.50"), "M")
    assert fill.commission == D("-0.995")  # a 1 bp rebate on 9,950
    taker = v.submit(req("BUY", "100", "LIMIT", limit="101"), at(60))
    v.on_event(bar("100", "100.5", "99", "99.8", 120))  # marketable at the open: a taker
    assert taker.executions[0].liquidity == "T"
    assert taker.executions[0].last_px == D("100.05")  # 5 bps, under its limit
    assert taker.executions[0].commission == D("5.0025")


def test_an_exact_touch_does_not_fill_a_resting_limit_and_a_trade_through_does() -> None:
    v = backtest_venue(FillModel(slippage=NoSlippage()))
    order = v.submit(req("BUY", "10", "LIMIT", limit="99"), at(0))
    v.on_event(bar("100", "100.5", "99", "99.5", 60))  # low exactly 99: a touch
    v.on_event(Trade(symbol="AAPL", ts=at(61), price=D(99)))  # a print at 99: a touch
    assert not order.executions
    v.on_event(Trade(symbol="AAPL", ts=at(62), price=D("98.99")))
    assert order.executions[0].last_px == D("98.99")
    assert order.executions[0].liquidity == "M"


def test_a_fill_is_stamped_with_the_time_of_its_price() -> None:
    v = backtest_venue(FillModel(slippage=NoSlippage()))
    opening = v.submit(req("BUY", "1"), at(0))
    stop = v.submit(req("SELL", "1", "STOP", stop="99.5"), at(0))
    # a bar from 0 to 60: O 100 @0, H 101 @20, L 99 @40, C 99.8 @60
    v.on_event(
        Bar(symbol="AAPL", ts=at(60), start=at(0), open=D(100), high=D(101), low=D(99),
            close=D("99.8"))
    )  # fmt: skip
    assert opening.executions[0].ts == at(0)  # the open
    # the stop is crossed on the way from 101 (20 s) to 99 (40 s): 1.5 of 2 → 35 s
    assert stop.executions[0].last_px == D("99.5")
    assert stop.executions[0].ts == at(35)


def test_several_symbols_at_one_time_never_trade_a_decision_at_that_time() -> None:
    v = backtest_venue(FillModel(slippage=NoSlippage()))
    v.on_event(mark("100", 0, symbol="AAPL"))
    # decided at 0 on AAPL's mark, for MSFT, whose mark at 0 comes after in the file
    order = v.submit(req("BUY", "1", symbol="MSFT"), at(0))
    v.on_event(mark("50", 0, symbol="MSFT"))
    assert not order.executions
    v.on_event(mark("51", 1, symbol="MSFT"))
    assert order.executions[0].last_px == D(51)


def test_first_price_at_arrival_is_kept_for_tca() -> None:
    v = backtest_venue(FillModel())
    order = v.submit(req("BUY", "1"), at(0))
    v.on_event(quote("99.98", "100.02", 1))
    assert order.first_px == D("100.00")  # the mid of the first quote it met
    assert order.executions[0].ts == at(1)
