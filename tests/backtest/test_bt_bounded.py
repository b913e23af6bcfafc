"""The bounded backtest: the venue forgets final orders, the store keeps only working
ones in memory, and nothing anyone asks changes (the goldens check the report)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from test_bt_golden import LOOSE, Mixed, marks

from ordergate.backtest.runner import BACKTEST_STORE, BacktestConfig, BacktestRunner
from ordergate.brokers.paper import PaperBroker
from ordergate.config import Settings
from ordergate.engine.engine import ExecutionEngine


def run(store_path: str) -> tuple[Any, ExecutionEngine, PaperBroker]:
    config = BacktestConfig(fill_model="bid_ask", store_path=store_path, venue_keep_final=3)
    runner = BacktestRunner(config, settings=Settings(), risk=LOOSE)
    built: list[Any] = []
    build = runner.build

    def capture(start: datetime) -> Any:
        built.append(build(start))
        return built[-1]

    runner.build = capture  # type: ignore[method-assign]
    result = runner.run(marks(300, 11, ("AAA", "BBB")), Mixed(12), strategy_id="b")
    _, engine, broker = built[0]
    return result, engine, broker


def test_a_retiring_venue_answers_positions_and_account_as_one_that_keeps_all() -> None:
    _, _, kept = run(":memory:")
    _, _, retiring = run(BACKTEST_STORE)
    assert retiring.venue.retired.orders > 300  # most orders were forgotten
    assert len(retiring.venue.orders) < len(kept.venue.orders) / 10
    assert retiring.fetch_account() == kept.fetch_account()
    ours = {(p.symbol, p.qty) for p in retiring.fetch_positions()}
    assert ours == {(p.symbol, p.qty) for p in kept.fetch_positions()}
    assert ours  # the run ends with positions to compare


def test_the_store_holds_only_working_orders_between_batches() -> None:
    result, engine, _ = run(BACKTEST_STORE)
    store = engine.store
    store.flush()  # type: ignore[attr-defined]
    held = store.orders  # type: ignore[attr-defined]
    assert len(held) == result.summary["open_orders"] < result.summary["orders"] / 10
    assert len(result.round_trips) == result.summary["round_trips"] >= 4
    assert list(result.round_trips)[-1] == result.round_trips[-1] == result.round_trips[3:][-1]


class Counted(list[Any]):
    """The run's events, counting the passes over them."""

    passes = 0

    def __iter__(self) -> Any:
        self.passes += 1
        return super().__iter__()


def test_a_run_without_vwap_keeps_nothing_per_event_for_volume_profiles() -> None:
    from ordergate.backtest.profiles import EventProfiles

    events = Counted(marks(50, 3, ("AAA",)))
    profiles = EventProfiles(events)
    assert events.passes == 0  # built before: ~64 bytes an event held by every run
    start, end = events[0].ts, events[-1].ts
    assert len(profiles.profile("aaa", start, end, 4)) == 4
    assert len(profiles.profile("AAA", start, end, 2)) == 2
    assert events.passes == 1  # built once, when the first VWAP parent asks
