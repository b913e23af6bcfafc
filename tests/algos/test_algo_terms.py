"""The ``algo`` block's validation, and the schedules' urgency, as pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ordergate.algos.decide import Send, Wait, next_step
from ordergate.algos.parent import ChildState, ParentStatus
from ordergate.algos.schedules import lot_of, slot
from ordergate.domain.algo_terms import AlgoTerms
from ordergate.domain.errors import InvalidIntent
from ordergate.domain.intent import OrderIntent

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("algo", "field"),
    [
        ({"kind": "twop"}, "algo.kind"),
        ({"kind": "twap", "slices": 4}, "algo.horizon_s"),
        ({"kind": "twap", "horizon_s": 60}, "algo.slices"),
        ({"kind": "twap", "horizon_s": 60, "slices": 0}, "algo.slices"),
        ({"kind": "twap", "horizon_s": -1, "slices": 2}, "algo.horizon_s"),
        ({"kind": "twap", "horizon_s": 60, "slices": 2, "interval_s": 5}, "algo.slices"),
        ({"kind": "pov"}, "algo.participation"),
        ({"kind": "pov", "participation": "1.5"}, "algo.participation"),
        ({"kind": "iceberg"}, "algo.display_qty"),
        ({"kind": "vwap", "horizon_s": 60, "slices": 2, "profile": ["1"]}, "algo.profile"),
        ({"kind": "twap", "horizon_s": 60, "slices": 2, "colour": "red"}, "algo.colour"),
        ({"kind": "twap", "horizon_s": 60, "slices": 2, "urgency": "now"}, "algo.urgency"),
    ],
)
def test_bad_terms_name_their_field(algo: dict[str, Any], field: str) -> None:
    intent = {"idempotency_key": "k", "symbol": "AAPL", "side": "BUY", "qty": "10", "algo": algo}
    with pytest.raises(InvalidIntent) as refused:
        OrderIntent.parse(intent)
    assert refused.value.field == field


def test_an_iceberg_needs_a_limit_and_a_parent_no_brackets() -> None:
    base = {"idempotency_key": "k", "symbol": "AAPL", "side": "BUY", "qty": "10"}
    with pytest.raises(InvalidIntent, match="limit"):
        OrderIntent.parse({**base, "algo": {"kind": "iceberg", "display_qty": "5"}})
    twap = {"kind": "twap", "horizon_s": 60, "slices": 2}
    with pytest.raises(InvalidIntent, match="stop loss"):
        OrderIntent.parse({**base, "sl_offset_pct": "-0.01", "algo": twap})


def test_a_plain_intent_hashes_as_before_and_a_parent_differently() -> None:
    base = {"idempotency_key": "k", "symbol": "AAPL", "side": "BUY", "qty": "10"}
    plain = OrderIntent.parse(base)
    assert "algo" not in plain.to_dict()
    parent = OrderIntent.parse({**base, "algo": {"kind": "twap", "horizon_s": 60, "slices": 2}})
    assert parent.payload_hash() != plain.payload_hash()
    assert OrderIntent.parse(json_round_trip(parent.to_dict())) == parent


def json_round_trip(data: dict[str, Any]) -> dict[str, Any]:
    import json

    return dict(json.loads(json.dumps(data)))


def test_lots_follow_the_quantitys_precision() -> None:
    assert lot_of(Decimal(1000)) == Decimal(1)
    assert lot_of(Decimal("2.50")) == Decimal("0.01")


def child(filled: str, qty: str = "25") -> ChildState:
    return ChildState(
        order_id="o1", slice_no=1, qty=Decimal(qty), filled=Decimal(filled), leaves=Decimal(0),
        is_open=False, cancel_pending=False, created_at=T0, ends_at=T0 + timedelta(seconds=60),
    )  # fmt: skip


def test_urgency_high_runs_a_slice_ahead_and_low_spreads_what_was_missed() -> None:
    def terms(urgency: str) -> AlgoTerms:
        return AlgoTerms.parse({"kind": "twap", "horizon_s": 240, "slices": 4, "urgency": urgency})

    at = T0 + timedelta(seconds=60)  # slice 2 of 4; slice 1 filled 5 of its 25
    kids = [child("5")]
    qty = Decimal(100)
    normal = next_step(terms("normal"), qty, ParentStatus.WORKING, kids,
                       slot(terms("normal"), qty, T0, at), at)  # fmt: skip
    high = next_step(terms("high"), qty, ParentStatus.WORKING, kids,
                     slot(terms("high"), qty, T0, at), at)  # fmt: skip
    low = next_step(terms("low"), qty, ParentStatus.WORKING, kids,
                    slot(terms("low"), qty, T0, at), at)  # fmt: skip
    assert isinstance(normal, Send)
    assert normal.qty == Decimal(45)
    assert isinstance(high, Send)
    assert high.qty == Decimal(70)
    assert isinstance(low, Send)
    assert low.qty == Decimal(31)
    before = next_step(terms("normal"), qty, ParentStatus.WORKING, [], slot(terms("normal"),
                       qty, T0 + timedelta(seconds=10), T0), T0)  # fmt: skip
    assert isinstance(before, Wait)
