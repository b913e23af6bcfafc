"""TCA's running totals: the groups a run reports are the sums of their own orders,
whether every order shares one strategy and symbol (the totals then keep one set of
sums until another comes) or not."""

from __future__ import annotations

from decimal import Decimal as D

from ordergate.backtest.tca import OrderCost, TcaTotals, aggregate


def _cost(n: int, strategy: str, symbol: str, first: D | None) -> OrderCost:
    side = "BUY" if n % 2 else "SELL"
    filled = D(n % 3)  # some orders unfilled
    return OrderCost(
        order_id=f"o{n}",
        strategy_id=strategy,
        symbol=symbol,
        side=side,
        qty=D(2),
        filled_qty=filled,
        arrival_price=D("100.07") + n,
        avg_price=D("100.11") + n if filled else None,
        slippage=D("0.04") * filled * (1 if side == "BUY" else -1),
        fees=D("1.25"),
        opportunity=D("0.5") * (2 - filled),
        first_price=first,
    )


def _expected(costs: list[OrderCost]) -> dict[str, object]:
    strategies = sorted({c.strategy_id for c in costs})
    symbols = sorted({c.symbol for c in costs})
    return {
        "overall": aggregate(costs),
        "by_strategy": {s: aggregate([c for c in costs if c.strategy_id == s]) for s in strategies},
        "by_symbol": {s: aggregate([c for c in costs if c.symbol == s]) for s in symbols},
    }


def _report(costs: list[OrderCost]) -> dict[str, object]:
    totals = TcaTotals(per_order=False)
    for cost in costs:
        totals.add(cost)
    return totals.report()


def test_one_strategy_and_symbol_reports_each_group() -> None:
    costs = [_cost(n, "s", "AAPL", D("100.09") + n if n % 4 else None) for n in range(9)]
    report = _report(costs)
    assert report == _expected(costs)
    assert list(report["by_strategy"]) == ["s"]
    assert list(report["by_symbol"]) == ["AAPL"]


def test_a_second_strategy_or_symbol_late_in_the_run_splits_the_groups() -> None:
    first = [_cost(n, "s", "AAPL", D("100.09") + n) for n in range(5)]
    for later in ("t", "s"):
        costs = [*first, _cost(5, later, "MSFT", None), _cost(6, "s", "AAPL", D(106))]
        report = _report(costs)
        assert report == _expected(costs)
        assert report["by_symbol"]["AAPL"]["orders"] == 6


def test_no_cost_reports_empty_groups() -> None:
    assert _report([]) == {"overall": aggregate([]), "by_strategy": {}, "by_symbol": {}}


def test_bps_pair_is_the_two_properties() -> None:
    for n in range(8):
        cost = _cost(n, "s", "AAPL", D("100.13") + n if n % 2 else None)
        assert cost.bps() == (cost.slippage_bps, cost.slippage_vs_first_bps)
