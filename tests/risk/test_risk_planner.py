"""Seed 002's target-position planner: actions, flips, lots, minimums, and the
property that the planned orders take each position to within one lot of its target."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.domain.enums import Side
from ordergate.domain.errors import ErrorCode, InvalidIntent
from ordergate.domain.intent import OrderIntent
from ordergate.engine.planner import PlanAction, PlannedOrder, Target, parse_targets, plan_orders

D = Decimal


def final_positions(
    positions: dict[str, Decimal], orders: list[PlannedOrder]
) -> dict[str, Decimal]:
    after = dict(positions)
    for order in orders:
        after[order.symbol] = after.get(order.symbol, D(0)) + order.signed_qty
    return after


def test_open_long_open_short_and_close() -> None:
    orders = plan_orders(
        [Target(symbol="AAPL", qty=D(100)), Target(symbol="MSFT", qty=D(-50)),
         Target(symbol="TSLA", qty=D(0))],
        {"TSLA": D(30)},
        {},
    )  # fmt: skip
    summary = [(o.action, o.symbol, o.side, o.qty) for o in orders]
    assert summary == [
        (PlanAction.CLOSE, "TSLA", Side.SELL, D(30)),
        (PlanAction.OPEN_LONG, "AAPL", Side.BUY, D(100)),
        (PlanAction.OPEN_SHORT, "MSFT", Side.SELL, D(50)),
    ]


def test_increase_and_reduce() -> None:
    orders = plan_orders(
        [Target(symbol="AAPL", qty=D(150)), Target(symbol="MSFT", qty=D(-20))],
        {"AAPL": D(100), "MSFT": D(-50)},
        {},
    )
    assert [(o.action, o.side, o.qty) for o in orders] == [
        (PlanAction.REDUCE, Side.BUY, D(30)),
        (PlanAction.INCREASE, Side.BUY, D(50)),
    ]


def test_flip_is_close_then_open() -> None:
    orders = plan_orders([Target(symbol="AAPL", qty=D(-40))], {"AAPL": D(100)}, {})
    assert [(o.action, o.side, o.qty) for o in orders] == [
        (PlanAction.CLOSE, Side.SELL, D(100)),
        (PlanAction.OPEN_SHORT, Side.SELL, D(40)),
    ]


def test_lots_round_toward_the_current_position_and_min_qty_drops_small_orders() -> None:
    orders = plan_orders(
        [Target(symbol="AAPL", qty=D(257)), Target(symbol="MSFT", qty=D(130))],
        {"MSFT": D(100)},
        {},
        lot_size={"AAPL": D(100), "MSFT": D(10)},
        min_qty=D(50),
    )
    assert [(o.symbol, o.qty) for o in orders] == [("AAPL", D(200))]  # MSFT +30 < min 50


def test_close_ignores_lot_and_minimum() -> None:
    orders = plan_orders([Target(symbol="AAPL", qty=D(0))], {"AAPL": D(7)}, {},
                         lot_size=D(100), min_qty=D(100))  # fmt: skip
    assert [(o.action, o.qty) for o in orders] == [(PlanAction.CLOSE, D(7))]


def test_weight_targets() -> None:
    orders = plan_orders(
        [Target(symbol="AAPL", weight=D("0.25")), Target(symbol="MSFT", weight=D("-0.1"))],
        {},
        {"AAPL": D(150), "MSFT": D(400)},
        equity=D(100_000),
    )
    # 25 000 / 150 = 166.67 → 166; −10 000 / 400 = −25
    assert [(o.symbol, o.side, o.qty) for o in orders] == [
        ("AAPL", Side.BUY, D(166)),
        ("MSFT", Side.SELL, D(25)),
    ]
    assert orders[0].price == D(150)


def test_weight_targets_need_equity_and_a_price() -> None:
    with pytest.raises(InvalidIntent) as caught:
        plan_orders([Target(symbol="AAPL", weight=D("0.1"))], {}, {}, equity=D(1000))
    assert caught.value.code is ErrorCode.E_EXEC_NO_MARKET_DATA
    with pytest.raises(InvalidIntent):
        plan_orders([Target(symbol="AAPL", weight=D("0.1"))], {}, {"AAPL": D(10)})


def test_close_missing() -> None:
    positions = {"AAPL": D(10), "MSFT": D(-5)}
    assert plan_orders([], positions, {}) == []
    orders = plan_orders([], positions, {}, close_missing=True)
    assert [(o.symbol, o.action, o.side) for o in orders] == [
        ("AAPL", PlanAction.CLOSE, Side.SELL),
        ("MSFT", PlanAction.CLOSE, Side.BUY),
    ]


def test_bad_targets() -> None:
    with pytest.raises(InvalidIntent):
        Target(symbol="AAPL")
    with pytest.raises(InvalidIntent):
        Target(symbol="AAPL", qty=D(1), weight=D("0.1"))
    with pytest.raises(InvalidIntent):
        plan_orders([Target(symbol="A", qty=D(1)), Target(symbol="A", qty=D(2))], {}, {})


def test_planned_order_renders_a_valid_intent() -> None:
    (order,) = plan_orders([Target(symbol="BRK.B", qty=D(5))], {}, {})
    data = order.to_intent_dict("plan-7", 0, strategy_id="momo")
    intent = OrderIntent.parse(data)
    assert intent.idempotency_key == "plan-7-0-BRK.B"
    assert (intent.symbol, intent.side, intent.qty) == ("BRK.B", Side.BUY, D(5))
    assert intent.strategy_id == "momo"
    assert intent.tag == "OPEN_LONG"
    assert order.to_intent_dict("plan-7", 0) == data | {"strategy_id": "default"}


def test_parse_targets() -> None:
    targets = parse_targets({"aapl": {"qty": "100"}, "MSFT": {"weight": 0.1}, "TSLA": -5})
    assert targets == [
        Target(symbol="AAPL", qty=D(100)),
        Target(symbol="MSFT", weight=D("0.1")),
        Target(symbol="TSLA", qty=D(-5)),
    ]
    assert parse_targets([{"symbol": "X", "qty": 1}]) == [Target(symbol="X", qty=D(1))]
    for bad in ({"A": {"size": 1}}, [{"qty": 1}], "AAPL"):
        with pytest.raises(InvalidIntent):
            parse_targets(bad)


# ------------------------------------------------------------------ properties

quantities = st.integers(min_value=-5000, max_value=5000).map(D)
lots = st.sampled_from([D(1), D(5), D(10), D(100), D("0.5")])
symbols = st.sampled_from(["AAPL", "MSFT", "TSLA", "SPY"])


@given(
    positions=st.dictionaries(symbols, quantities, max_size=4),
    targets=st.dictionaries(symbols, quantities, max_size=4),
    lot=lots,
)
def test_quantity_plan_reaches_targets_within_one_lot(
    positions: dict[str, Decimal], targets: dict[str, Decimal], lot: Decimal
) -> None:
    orders = plan_orders(
        [Target(symbol=s, qty=q) for s, q in targets.items()], positions, {}, lot_size=lot
    )
    after = final_positions(positions, orders)
    for symbol, target in targets.items():
        assert abs(after.get(symbol, D(0)) - target) < lot
        if target == 0:
            assert after.get(symbol, D(0)) == 0
    for symbol in set(positions) - set(targets):
        assert after[symbol] == positions[symbol]
    for order in orders:
        assert order.qty > 0
        if order.action is not PlanAction.CLOSE:
            assert order.qty % lot == 0
    actions = [o.action.reduces for o in orders]
    assert actions == sorted(actions, reverse=True)  # reducing orders first


@given(
    positions=st.dictionaries(symbols, quantities, max_size=4),
    weights=st.dictionaries(
        symbols, st.decimals(min_value=-1, max_value=1, places=3), min_size=1, max_size=4
    ),
    prices=st.fixed_dictionaries(
        {
            s: st.decimals(min_value=1, max_value=2000, places=2)
            for s in ["AAPL", "MSFT", "TSLA", "SPY"]
        }
    ),
    equity=st.decimals(min_value=1000, max_value=10_000_000, places=2),
    lot=lots,
)
def test_weight_plan_reaches_targets_within_one_lot(
    positions: dict[str, Decimal],
    weights: dict[str, Decimal],
    prices: dict[str, Decimal],
    equity: Decimal,
    lot: Decimal,
) -> None:
    orders = plan_orders(
        [Target(symbol=s, weight=w) for s, w in weights.items()],
        positions,
        prices,
        equity=equity,
        lot_size=lot,
    )
    after = final_positions(positions, orders)
    for symbol, weight in weights.items():
        raw = weight * equity / prices[symbol]
        assert abs(after.get(symbol, D(0)) - raw) < lot
        # never more exposure than the weight asks for, on a fresh position
        if positions.get(symbol, D(0)) == 0:
            assert abs(after.get(symbol, D(0))) * prices[symbol] <= abs(weight) * equity


@given(
    current=quantities.filter(lambda q: q != 0),
    target=quantities.filter(lambda q: q != 0),
)
def test_flips_close_first(current: Decimal, target: Decimal) -> None:
    orders = plan_orders([Target(symbol="AAPL", qty=target)], {"AAPL": current}, {})
    if (current > 0) != (target > 0):
        assert orders[0].action is PlanAction.CLOSE
        assert orders[0].qty == abs(current)
        assert len(orders) == 2
