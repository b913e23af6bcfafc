"""Positions and P&L: exact Decimal math, checked by hand and by properties."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ordergate.domain.enums import Side
from ordergate.domain.positions import Position

D = Decimal

qty = st.decimals(min_value=1, max_value=10_000, places=0)
price = st.decimals(min_value=D("0.01"), max_value=D(100_000), places=2)
fee = st.decimals(min_value=0, max_value=50, places=2)
fills = st.lists(st.tuples(st.sampled_from(list(Side)), qty, price, fee), min_size=1, max_size=30)


def test_seed_001_scenario_5_close_with_pnl() -> None:
    """100 bought at 70,000, sold at 72,000: 200,000 gross, commission deducted."""
    position = Position(symbol="005930")
    position.apply_fill(Side.BUY, D(100), D(70_000), D(150))
    effect = position.apply_fill(Side.SELL, D(100), D(72_000), D(160))
    assert effect.realized_gross == D(200_000)
    assert effect.realized_net == D(199_840)
    assert position.is_flat
    assert position.realized_gross == D(200_000)
    assert position.realized_pnl == D(200_000) - D(310)


def test_short_then_flip_to_long() -> None:
    position = Position(symbol="X")
    position.apply_fill(Side.SELL, D(10), D(50), D(0))
    assert position.qty == D(-10)
    assert position.avg_price == D(50)
    effect = position.apply_fill(Side.BUY, D(15), D(40), D(0))
    assert effect.realized_gross == D(100)  # covered 10 at 40, sold at 50
    assert position.qty == D(5)
    assert position.avg_price == D(40)  # the remainder opened at the flip price
    assert position.unrealized_pnl(D(42)) == D(10)


def test_adding_averages_the_cost() -> None:
    position = Position(symbol="X")
    position.apply_fill(Side.BUY, D(100), D(10), D(0))
    position.apply_fill(Side.BUY, D(300), D(14), D(0))
    assert position.avg_price == D(13)
    assert position.unrealized_pnl(D(12)) == D(-400)


@given(fills)
def test_folding_equals_replaying(sequence: list[tuple[Side, Decimal, Decimal, Decimal]]) -> None:
    """A position built fill by fill equals one rebuilt from the whole list, and the sum
    of what each fill realized equals the position's realized P&L."""
    live = Position(symbol="X")
    realized = D(0)
    for side, q, p, f in sequence:
        realized += live.apply_fill(side, q, p, f).realized_gross
    rebuilt = Position.replay("X", sequence)
    assert (live.qty, live.avg_price, live.realized_gross, live.commission) == (
        rebuilt.qty,
        rebuilt.avg_price,
        rebuilt.realized_gross,
        rebuilt.commission,
    )
    assert realized == live.realized_gross


@given(fills, price)
def test_pnl_identity_cash_plus_value(
    sequence: list[tuple[Side, Decimal, Decimal, Decimal]], mark: Decimal
) -> None:
    """realized (net) + unrealized == cash flow of all fills + market value at the mark.

    Realized P&L is booked to the cent per fill (half-even), so each fill may move the
    identity by half a cent; beyond that only the average price's rounding (1e-12).
    """
    position = Position.replay("X", sequence)
    cash = sum((-(q if s is Side.BUY else -q) * p - f for s, q, p, f in sequence), D(0))
    expected = cash + position.qty * mark
    actual = position.realized_pnl + position.unrealized_pnl(mark)
    booked = D("0.005") * len(sequence)
    assert abs(actual - expected) <= booked + D("1e-12") * max(D(1), abs(expected))


@given(fills)
def test_quantity_is_the_signed_sum(sequence: list[tuple[Side, Decimal, Decimal, Decimal]]) -> None:
    position = Position.replay("X", sequence)
    assert position.qty == sum((q * s.sign for s, q, _, _ in sequence), D(0))
    if position.qty == 0:
        assert position.avg_price == 0
    assert position.commission == sum((f for *_, f in sequence), D(0))


def test_realized_pnl_and_fees_are_booked_per_fill_to_the_cent_half_even() -> None:
    """Issue 21: a statement books each fill to the minor unit; average cost stays exact."""
    position = Position(symbol="AAPL")
    position.apply_fill(Side.BUY, D(31), D("150.3977"), D("0.155"))  # fee 0.155 -> 0.16
    position.apply_fill(Side.BUY, D(1), D("150.4"), D("0.005"))  # 0.005 -> 0.00 (half-even)
    assert position.commission == D("0.16")
    assert position.avg_price == (D(31) * D("150.3977") + D("150.4")) / D(32)  # exact
    effect = position.apply_fill(Side.SELL, D(3), D("150.6132"), D("0.125"))
    # 3 x (150.6132 - 150.39777...) = 0.6462... -> 0.65; 0.125 -> 0.12 (half-even)
    assert effect.realized_gross == D("0.65")
    assert effect.commission == D("0.12")
    assert position.realized_pnl == D("0.65") - D("0.28")


def test_a_yen_position_books_whole_yen() -> None:
    position = Position(symbol="7203", currency="JPY")
    position.apply_fill(Side.BUY, D(10), D("2500.5"), D("12.5"))
    effect = position.apply_fill(Side.SELL, D(10), D("2501.25"), D("13.5"))
    assert effect.realized_gross == D(8)  # 7.5 -> 8 (half-even)
    assert position.commission == D(12 + 14)


def test_shown_figures_round_only_for_the_reader() -> None:
    from ordergate.domain.positions import shown_money, shown_price

    assert shown_price(D("150.3977419354838709677419355")) == "150.3977"
    assert shown_price(D("150.5")) == "150.5"
    assert shown_money(D("0.6470000000000000000000002")) == "0.65"
    assert shown_money(D("-7.505")) == "-7.5"
    assert shown_money(None) is None
