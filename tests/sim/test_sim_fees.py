"""Fee schedules, hand-computed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.domain.enums import Side
from ordergate.sim.fees import (
    BpsFee,
    FlatFee,
    MakerTaker,
    NoFees,
    PerShareFee,
    TieredFee,
    fee_model_from_name,
)

D = Decimal
B = Side.BUY


def test_per_share_minimum_rate_and_cap() -> None:
    fee = PerShareFee()
    assert fee.commission(B, D(100), D(50)) == D("1.00")  # 0.50 → the minimum
    assert fee.commission(B, D(1000), D(50)) == D("5.000")  # 0.005 × 1000
    assert fee.commission(B, D(1000), D("0.10")) == D("1.0000")  # capped at 1 % of 100
    assert fee.commission(B, D(1), D(10)) == D("0.10")  # 1 % of 10 beats the minimum


def test_bps_and_flat() -> None:
    assert BpsFee(D(10)).commission(B, D(10), D(100)) == D("1")
    assert FlatFee(D("2.5")).commission(B, D(10), D(100)) == D("2.5")
    assert NoFees().commission(B, D(10), D(100)) == 0


def test_maker_taker_charges_by_liquidity_and_pays_rebates() -> None:
    fee = MakerTaker(maker_bps=D(-2), taker_bps=D(5))
    assert fee.commission(B, D(100), D(100), "T") == D(5)
    assert fee.commission(B, D(100), D(100), "M") == D(-2)
    assert fee.commission(B, D(100), D(100)) == D(5)  # taker by default


def test_tiered_rate_falls_with_volume_traded_so_far() -> None:
    fee = TieredFee(volume=D(299_000))
    assert fee.commission(B, D(1000), D(50)) == D("3.5")  # at 0.0035: volume before was 299k
    assert fee.commission(B, D(1000), D(50)) == D("2.0")  # now at 300k: 0.002
    assert fee.volume == D(301_000)
    assert TieredFee().commission(B, D(10), D(50)) == D("0.35")  # the minimum


def test_tiered_schedule_must_ascend_from_zero() -> None:
    with pytest.raises(ValueError, match="ascend"):
        TieredFee(tiers=((D(10), D("0.01")),))


@given(qty=st.integers(1, 10**6), price=st.decimals(min_value="0.01", max_value=10_000, places=2))
def test_per_share_is_within_its_bounds(qty: int, price: Decimal) -> None:
    fee = PerShareFee().commission(B, D(qty), price)
    assert fee <= D(qty) * price * D("0.01")
    assert fee >= min(D("1.00"), D(qty) * price * D("0.01"))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("per_share", PerShareFee),
        ("bps", BpsFee),
        ("flat", FlatFee),
        ("maker_taker", MakerTaker),
        ("tiered", TieredFee),
        ("none", NoFees),
    ],
)
def test_fee_model_from_name(name: str, kind: type) -> None:
    assert isinstance(fee_model_from_name(name), kind)


def test_unknown_fee_model() -> None:
    with pytest.raises(ValueError, match="unknown fee model"):
        fee_model_from_name("gratis")
