"""Parity: a backtest and a paper engine, both from the one composition root, fed the
same prices and intents, make the same gate decisions with the same codes — and book
the same fills when their venues are given the same settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.backtest.runner import BacktestConfig, BacktestRunner
from ordergate.bootstrap import build_runtime
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.config import load_settings
from ordergate.domain.enums import TradingMode
from ordergate.domain.market import Mark
from ordergate.sim.fees import fee_model_from_name
from ordergate.sim.matching import fill_model_from_name
from ordergate.store.memory import MemoryStore

START = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
#: The same settings for both modes: the defaults, with the fat-finger notional limit
#: (25 % of equity an order by default) off, so that buying power and the breakers are
#: what decide; ``DEFAULTS`` keeps it.
RISK: dict[str, Any] = {"limits": {"default": {"max_notional_equity_pct": None}}}
DEFAULTS: dict[str, Any] = {}
STEP = timedelta(minutes=1)


@dataclass(frozen=True)
class Tick:
    price: Decimal
    order: dict[str, Any] | None  # side, qty (and optionally a limit)


def events(ticks: list[Tick]) -> list[Mark]:
    return [
        Mark(symbol="AAPL", last=t.price, volume=Decimal(1_000_000), ts=START + i * STEP)
        for i, t in enumerate(ticks)
    ]


def run_backtest(
    ticks: list[Tick], config: BacktestConfig, risk: dict[str, Any] = RISK
) -> tuple[list[Any], list[Any]]:
    by_ts = {START + i * STEP: t.order for i, t in enumerate(ticks)}

    def strategy(event: Any, ctx: Any) -> Any:
        order = by_ts.get(event.ts)
        return None if order is None else {"symbol": "AAPL", **order}

    settings = load_settings(database_url="sqlite:///:memory:", risk=risk)
    result = BacktestRunner(config, settings=settings).run(events(ticks), strategy)
    decisions = [
        (o["status"], o.get("error_code") or None)
        for o in sorted(result.orders, key=lambda o: o["order_id"])
    ]
    fills = [
        (Decimal(f["last_qty"]), Decimal(f["last_px"]), Decimal(f["commission"]), f["ts"])
        for f in result.fills
    ]
    return decisions, fills


def paper_broker(clock: SimulatedClock, config: BacktestConfig) -> PaperBroker:
    """The venue of ``config``, as the backtest runner builds it."""
    return PaperBroker(
        clock=clock,
        fill_model=fill_model_from_name(
            config.fill_model, bps=config.slippage_bps, participation=config.participation
        ),
        fee_model=fee_model_from_name(config.fee_model),
        starting_cash=config.starting_cash,
        fill_at_arrival=False,
    )


def run_paper(
    ticks: list[Tick], config: BacktestConfig | None, risk: dict[str, Any] = RISK
) -> tuple[list[Any], list[Any]]:
    """A paper engine driven by hand: the clock, a mark, then the intent — as a strategy
    in paper trading would. ``config`` None: the paper broker the settings build."""
    clock = SimulatedClock(START)
    settings = load_settings(database_url="sqlite:///:memory:", mode=TradingMode.PAPER, risk=risk)
    broker = None if config is None else paper_broker(clock, config)
    runtime = build_runtime(
        settings, store=MemoryStore(), broker=broker, clock=clock, ids=SequentialIds()
    )
    engine = runtime.engine
    decisions = []
    for i, (event, tick) in enumerate(zip(events(ticks), ticks, strict=True)):
        clock.set(event.ts)
        engine.mark("AAPL", event.last, volume=event.volume)
        if tick.order is not None:
            engine.submit(
                {"idempotency_key": f"k{i}", "symbol": "AAPL", "strategy_id": "s", **tick.order}
            )
    fills = []
    for order in sorted(engine.orders(), key=lambda o: o.order_id):
        decisions.append((order.status.value, order.error_code or None))
        fills.extend(
            (f.last_qty, f.last_px, f.commission, f.ts.isoformat())
            for f in engine.fills(order.order_id)
        )
    engine.store.close()
    return decisions, fills


def drawdown_day() -> list[Tick]:
    """The issue's case: a 3,000-share long, then the price falls from 100 to 90."""
    prices = ["100", "100", "98", "95", "92", "90", "90"]
    orders: list[dict[str, Any] | None] = [
        {"side": "BUY", "qty": "3000"},
        None,
        None,
        None,
        None,
        {"side": "BUY", "qty": "100"},
        None,
    ]
    return [Tick(Decimal(p), o) for p, o in zip(prices, orders, strict=True)]


def test_the_same_long_is_refused_by_the_drawdown_breaker_in_both_modes() -> None:
    config = BacktestConfig(fill_model="fixed_bps", fee_model="none")
    backtest, _ = run_backtest(drawdown_day(), config)
    paper, _ = run_paper(drawdown_day(), config)
    assert backtest == paper
    assert backtest[-1] == ("REJECTED", "E_RISK_DRAWDOWN")
    # and with the paper broker the settings build (it fills at arrival): the same no
    settings_paper, _ = run_paper(drawdown_day(), None)
    assert settings_paper[-1] == ("REJECTED", "E_RISK_DRAWDOWN")


def test_an_order_beyond_the_cash_is_refused_in_both_modes() -> None:
    ticks = [Tick(Decimal(100), {"side": "BUY", "qty": "12000"}), Tick(Decimal(100), None)]
    config = BacktestConfig(fill_model="fixed_bps", fee_model="none")
    assert run_backtest(ticks, config)[0] == run_paper(ticks, config)[0]
    assert run_paper(ticks, config)[0] == [("REJECTED", "E_RISK_BUYING_POWER")]


def test_a_fat_finger_is_refused_in_both_modes_on_the_defaults() -> None:
    ticks = [Tick(Decimal(100), {"side": "BUY", "qty": "3000"}), Tick(Decimal(100), None)]
    config = BacktestConfig(fill_model="fixed_bps", fee_model="none")
    backtest = run_backtest(ticks, config, DEFAULTS)[0]
    assert backtest == run_paper(ticks, config, DEFAULTS)[0]
    assert backtest == [("REJECTED", "E_RISK_MAX_NOTIONAL")]


orders = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "side": st.sampled_from(["BUY", "SELL"]),
            "qty": st.sampled_from(["1", "10", "250", "1000", "4000", "20000"]),
        }
    ),
)
ticks = st.lists(
    st.builds(
        Tick,
        price=st.integers(min_value=8_000, max_value=12_000).map(lambda c: Decimal(c) / 100),
        order=orders,
    ),
    min_size=2,
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ticks=ticks, fee_model=st.sampled_from(["none", "per_share"]))
def test_same_prices_and_intents_give_the_same_decisions_and_fills(
    ticks: list[Tick], fee_model: str
) -> None:
    config = BacktestConfig(fill_model="fixed_bps", fee_model=fee_model)
    assert run_backtest(ticks, config) == run_paper(ticks, config)


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.integers(min_value=0, max_value=60 * 24 * 400),
    zone=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"]),
)
def test_the_remembered_trading_day_is_the_zone_s_date(minutes: int, zone: str) -> None:
    from zoneinfo import ZoneInfo

    from ordergate.bootstrap import trading_day_in

    day_of = trading_day_in(zone)
    for offset in (0, 1, 14, 15, 29, 31, 44, 46):
        when = START + timedelta(minutes=minutes + offset, seconds=offset)
        assert day_of(when) == when.astimezone(ZoneInfo(zone)).date().isoformat()
