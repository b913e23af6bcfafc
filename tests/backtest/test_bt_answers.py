"""Turning a strategy's answer into intents, every form of it, and the TCA built once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ordergate.backtest.strategy import IntentMaker, Targets
from ordergate.backtest.tca import order_costs, tca_of_costs, tca_report
from ordergate.domain.errors import ConfigError, InvalidIntent
from ordergate.domain.intent import OrderIntent

D = Decimal


class Ctx:
    now = datetime(2026, 1, 5, tzinfo=UTC)

    def __init__(self, positions: dict[str, Decimal] | None = None) -> None:
        self.positions = positions or {}

    def position(self, symbol: str) -> Decimal:
        return self.positions.get(symbol, D(0))

    def last(self, symbol: str) -> Decimal | None:
        return D(100)


class Frozen(Mapping[str, Any]):
    """A mapping that is not a dict: takes the general path."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def no_working() -> dict[str, Decimal]:
    return {}


def test_a_plain_dict_is_one_intent_with_a_deterministic_key() -> None:
    maker = IntentMaker("s")
    answer = {"symbol": "aapl", "side": "BUY", "qty": 2}
    first = maker.intents(answer, Ctx(), no_working)
    second = maker.intents(Frozen(answer), Ctx(), no_working)
    assert [(i.idempotency_key, i.symbol, i.qty, i.strategy_id) for i in first + second] == [
        ("bt-s-1", "AAPL", D(2), "s"),
        ("bt-s-2", "AAPL", D(2), "s"),
    ]
    assert answer == {"symbol": "aapl", "side": "BUY", "qty": 2}  # the caller's dict untouched


def test_a_dict_with_its_own_key_and_strategy_keeps_them() -> None:
    maker = IntentMaker("s")
    answer = {"symbol": "X", "side": "SELL", "qty": 1, "key": "mine", "strategy_id": "other"}
    (intent,) = maker.intents(answer, Ctx(), no_working)
    assert (intent.idempotency_key, intent.strategy_id) == ("mine", "other")
    assert maker.counter == 0


@pytest.mark.parametrize(
    "answer",
    [
        {"targets": {"AAPL": 10}},
        Frozen({"targets": {"AAPL": 10}}),
        Targets({"AAPL": 10}),
    ],
)
def test_targets_in_every_form_trade_the_difference(answer: Any) -> None:
    maker = IntentMaker("s")
    asked = []

    def working() -> dict[str, Decimal]:
        asked.append(True)
        return {"AAPL": D(3)}

    (intent,) = maker.intents(answer, Ctx({"AAPL": D(2)}), working)
    assert (intent.side.value, intent.qty) == ("BUY", D(5))
    assert asked == [True]


def test_a_dict_with_targets_and_more_is_an_intent_and_refused() -> None:
    with pytest.raises(InvalidIntent, match="targets"):
        IntentMaker("s").intents({"targets": {}, "symbol": "X"}, Ctx(), no_working)


def test_lists_intents_and_nothing() -> None:
    maker = IntentMaker("s")
    ready = OrderIntent.parse({"key": "k", "symbol": "A", "side": "BUY", "qty": 1})
    out = maker.intents([ready, {"symbol": "B", "side": "SELL", "qty": 1}], Ctx(), no_working)
    assert [i.idempotency_key for i in out] == ["k", "bt-s-1"]
    assert maker.intents(ready, Ctx(), no_working) == [ready]
    assert maker.intents(None, Ctx(), no_working) == []
    assert maker.intents([], Ctx(), no_working) == []
    with pytest.raises(ConfigError, match="int"):
        maker.intents(42, Ctx(), no_working)


def test_tca_of_costs_is_the_report_of_the_same_orders() -> None:
    from ordergate.backtest.examples import Alternate
    from ordergate.backtest.runner import BacktestConfig, BacktestRunner
    from ordergate.domain.market import Mark
    from ordergate.store.base import OrderQuery

    runner = BacktestRunner(BacktestConfig(fill_model="participation"))
    ts = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    events = [
        Mark(symbol="Z", last=D(100 + i % 3), volume=D(10), ts=ts.replace(second=i))
        for i in range(30)
    ]
    clock_engine: list[Any] = []
    original = runner.build

    def build(start: datetime) -> Any:
        graph = original(start)
        clock_engine.extend(graph[1:])
        return graph

    runner.build = build  # type: ignore[method-assign]
    result = runner.run(events, Alternate().on_event)
    orders = clock_engine[0].orders(OrderQuery(limit=1000))
    prices = {"Z": events[-1].last}
    assert tca_of_costs(order_costs(orders, prices)) == tca_report(orders, prices)
    venue = clock_engine[1].venue
    firsts = {cid: o.first_px for cid, o in venue.orders.items() if o.first_px is not None}
    assert result.tca == tca_report(orders, prices, first_prices=firsts)
    # each market order met the next mark first and filled there: all of its slippage
    # against the decision is the move to that mark plus the model's 5 bps
    for row in result.tca["orders"]:
        if row["avg_price"] is not None:
            assert D(row["slippage_vs_first_bps"]) == D(5)
            # the move before arrival and the cost of trading add up to the slippage
            assert D(row["delay"]) + D(row["slippage_vs_first"]) == D(row["slippage"])
    overall = result.tca["overall"]
    assert D(overall["delay"]) + D(overall["slippage_vs_first"]) == D(overall["slippage"])
