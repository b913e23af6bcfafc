"""A series of events made on demand (a Sequence that builds each event when asked) is
read twice by a run, the check before it and the run itself, with the same result as the
list of the same events; the check counts bars without a start and events without a volume
in one pass."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from btkit import T0, bars, wave

from ordergate.backtest.examples import Alternate
from ordergate.backtest.runner import BacktestConfig, BacktestRunner, scan
from ordergate.domain.market import Mark
from ordergate.sim.data import MarketEvent

D = Decimal


class Made(Sequence[MarketEvent]):
    """Marks (two at some timestamps) made when asked for, counting how many were made."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.made = 0

    def _make(self, i: int) -> Mark:
        self.made += 1
        ts = T0 + timedelta(seconds=i - i % 3 // 2)  # events 1 and 2 of every 3 share a time
        return Mark(symbol="AAPL", last=D(100) + i % 7, volume=D(1000), ts=ts)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.n))]
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self._make(i)

    def __iter__(self) -> Iterator[MarketEvent]:
        return (self._make(i) for i in range(self.n))


def _run(events: Sequence[MarketEvent]) -> str:
    config = BacktestConfig(fill_model="participation", store_path=":memory:")
    runner = BacktestRunner(config)
    return runner.run(events, Alternate().on_event, strategy_id="reads").to_json()


def test_a_series_made_on_demand_is_read_twice_and_runs_as_its_list() -> None:
    made = Made(60)
    out = _run(made)
    # the scan, the run, and the last event's time (the first by index, once)
    assert made.made <= 2 * made.n + 2
    assert out == _run(list(Made(60)))


def test_scan_counts_bars_without_start_and_events_without_volume() -> None:
    data: list[MarketEvent] = [*bars(wave(4))]
    assert scan(data) == (True, 0)
    no_volume = Mark(symbol="AAPL", last=D(100), ts=T0)
    assert scan([no_volume, *data, no_volume]) == (True, 2)
    assert scan([no_volume], volumes=False) == (False, 0)
    assert scan([Mark(symbol="AAPL", last=D(100), volume=D(5), ts=T0)]) == (False, 0)
