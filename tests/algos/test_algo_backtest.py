"""Each algorithm's schedule in a backtest, against slices worked out by hand.

The runner is the ordinary one: the strategy answers one intent with an ``algo`` block
on the first bar; the engine's algo desk ticks on every bar (1 minute apart) and sends
the children through the normal submit path; the paper venue fills them on later bars.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.backtest.config import BacktestConfig
from ordergate.backtest.runner import BacktestRunner
from ordergate.domain.order import Order
from ordergate.sim.data import Bar
from ordergate.store.base import OrderQuery
from ordergate.store.parents import SqliteParentBook
from ordergate.store.sqlite import SqliteStore
from tests.backtest.btkit import T0, bars, wave

START = T0 + timedelta(minutes=1)  # the first bar: when the strategy sends the parent


def run(tmp_path: Path, algo: dict[str, Any], events: list[Bar] | None = None, **intent: Any
        ) -> tuple[list[Order], Any]:  # fmt: skip
    db = str(tmp_path / "bt.db")
    sent: list[int] = []

    def strategy(event: Any, ctx: Any) -> Any:
        if sent:
            return None
        sent.append(1)
        return {"idempotency_key": "p1", "symbol": "AAPL", "side": "BUY", "qty": "1000",
                "algo": algo, **intent}  # fmt: skip

    BacktestRunner(BacktestConfig(store_path=db)).run(events or bars(wave(12)), strategy)
    store = SqliteStore(db)
    try:
        orders = sorted(store.list_orders(OrderQuery(limit=500)), key=lambda o: o.created_at)
    finally:
        store.close()
    [parent] = SqliteParentBook(db).latest()
    return orders, parent


def slices(orders: list[Order]) -> list[tuple[int, str]]:
    """(minutes after the start, qty) of each child."""
    return [(int((o.created_at - START).total_seconds() // 60), str(o.qty)) for o in orders]


def test_twap_cuts_the_horizon_into_even_slices(tmp_path: Path) -> None:
    orders, parent = run(tmp_path, {"kind": "twap", "horizon_s": 240, "slices": 4})
    assert slices(orders) == [(0, "250"), (1, "250"), (2, "250"), (3, "250")]
    assert [o.idempotency_key for o in orders] == [f"p1/slice-{n}" for n in range(1, 5)]
    assert {o.parent_order_id for o in orders} == {parent.parent_id}
    assert parent.status.value == "COMPLETED"
    assert sum(o.filled_qty for o in orders) == Decimal(1000)


def test_twap_by_interval_rounds_down_to_the_lot_and_the_last_slice_takes_the_rest(
    tmp_path: Path,
) -> None:
    # 1000 over 3 slices of 2 minutes: floor(333.3)=333, floor(666.6)=666 → 333, 333, 334
    orders, _ = run(tmp_path, {"kind": "twap", "horizon_s": 360, "interval_s": 120})
    assert slices(orders) == [(0, "333"), (2, "333"), (4, "334")]


def test_vwap_follows_the_given_profile(tmp_path: Path) -> None:
    algo = {"kind": "vwap", "horizon_s": 240, "profile": ["1", "2", "3", "4"]}
    orders, _ = run(tmp_path, algo)
    assert slices(orders) == [(0, "100"), (1, "200"), (2, "300"), (3, "400")]


def test_vwap_learns_its_profile_from_the_data_file(tmp_path: Path) -> None:
    # one bar per minute; the window [START, START+4m) holds bars at +0..+3 minutes
    events = bars(wave(10))
    volumes = ["1000", "3000", "1000", "5000"]  # the bars at START, +1, +2, +3 minutes
    events = [
        replace(b, volume=Decimal(volumes[i]) if i < 4 else Decimal(100))
        for i, b in enumerate(events)
    ]
    orders, _ = run(tmp_path, {"kind": "vwap", "horizon_s": 240, "slices": 4}, events)
    # weights 1:3:1:5 of 1000 → cumulative 100, 400, 500, 1000
    assert slices(orders) == [(0, "100"), (1, "300"), (2, "100"), (3, "500")]


def test_pov_keeps_its_share_of_the_volume_printed_since_the_start(tmp_path: Path) -> None:
    # every bar prints 10,000; 2 % of it is 200 a bar. The bar at START is counted when
    # it is marked, before the parent exists: the count starts with the next bar.
    algo = {"kind": "pov", "participation": "0.02", "interval_s": 60}
    orders, parent = run(tmp_path, algo)
    assert slices(orders) == [(1, "200"), (2, "200"), (3, "200"), (4, "200"), (5, "200")]
    assert parent.status.value == "COMPLETED"
    assert sum(o.filled_qty for o in orders) == Decimal(1000)


def test_iceberg_shows_its_display_quantity_and_refills_as_it_fills(tmp_path: Path) -> None:
    # a limit above every price: each child fills on the bar after it is shown
    algo = {"kind": "iceberg", "display_qty": "300"}
    orders, parent = run(tmp_path, algo, order_type="LIMIT", limit_price="200")
    assert [str(o.qty) for o in orders] == ["300", "300", "300", "100"]
    assert all(o.limit_price == Decimal(200) and o.order_type.value == "LIMIT" for o in orders)
    created = [o.created_at for o in orders]
    assert created == sorted(created)
    assert len(set(created)) == 4
    assert parent.status.value == "COMPLETED"


def test_an_unfilled_limit_slice_is_canceled_at_its_end_and_rolls_over(tmp_path: Path) -> None:
    # the limit (99) is below most prices: what a slice does not fill is canceled at the
    # slice's end and the next slice catches up; nothing ever exceeds the parent's qty
    orders, parent = run(
        tmp_path,
        {"kind": "twap", "horizon_s": 300, "slices": 5},
        order_type="LIMIT",
        limit_price="99",
    )
    assert sum(o.filled_qty for o in orders) <= Decimal(1000)
    canceled = [o for o in orders if o.status.value == "CANCELED"]
    assert canceled, "some slice should have rolled over"
    for earlier, later in itertools.pairwise(orders):
        assert later.created_at >= earlier.updated_at  # one child works at a time
    assert parent.status.value in ("COMPLETED", "EXPIRED")
