"""A parent never overfills — under partial fills, a refused child, cancel and modify —
and a kill switch or HALTED stops new children at once (issue 18, must-show)."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import InvalidIntent, OrderNotCancelable
from ordergate.domain.intent import OrderIntent

from .kit import Rig, rejecting, rig

TWAP = {"kind": "twap", "horizon_s": 240, "slices": 4}


def limit_twap(r: Rig, **more: Any) -> str:
    report = r.submit(order_type="LIMIT", limit_price="100", algo=TWAP, **more)
    assert report.status is OrderStatus.ACCEPTED, report
    return report.order_id


def test_a_partial_slice_is_canceled_at_its_end_and_the_next_catches_up(tmp_path: Path) -> None:
    r = rig(tmp_path)
    pid = limit_twap(r)
    [first] = r.working(pid)
    assert first.qty == Decimal(25)
    assert first.idempotency_key == "p1/slice-1"
    r.fill(first, "10")
    assert r.advance(30) == 0  # mid-slice: the child keeps working, nothing new
    r.advance(30)  # the slice ends: its child is canceled
    assert r.children(pid)[0].status is OrderStatus.CANCELED
    r.advance(0)
    second = r.children(pid)[1]
    assert second.qty == Decimal(40)  # target 50 after two slices, 10 filled
    r.fill(second, "40")
    r.advance(60)
    assert r.children(pid)[2].qty == Decimal(25)
    r.invariant(pid, Decimal(100))


def test_a_refused_child_is_not_retried_within_its_slice_and_rolls_over(tmp_path: Path) -> None:
    r = rig(tmp_path)
    r.broker.on_submit = lambda req: rejecting(req, r.clock)
    pid = limit_twap(r)
    [refused] = r.children(pid)
    assert refused.status is OrderStatus.REJECTED
    for _ in range(5):
        assert r.advance(5) == 0  # same slice: no second child
    r.broker.on_submit = None
    r.advance(60)
    kids = r.children(pid)
    assert len(kids) == 2
    assert kids[1].qty == Decimal(50)
    r.invariant(pid, Decimal(100))


def test_cancel_of_the_parent_cancels_its_working_child_and_stops(tmp_path: Path) -> None:
    r = rig(tmp_path)
    pid = limit_twap(r)
    [child] = r.working(pid)
    r.fill(child, "5")
    report = r.engine.algos.cancel(pid)
    assert report.status is OrderStatus.CANCELED
    assert r.children(pid)[0].status is OrderStatus.CANCELED
    for _ in range(6):
        assert r.advance(60) == 0
    assert report.filled_qty == Decimal(5)
    with pytest.raises(OrderNotCancelable):
        r.engine.algos.cancel(pid)


def test_modify_down_cancels_what_would_exceed_and_never_goes_below_the_fills(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path)
    pid = limit_twap(r)
    [child] = r.working(pid)
    r.fill(child, "20")
    with pytest.raises(InvalidIntent) as refused:
        r.engine.algos.modify(pid, qty="10")
    assert refused.value.code.name == "E_ORDER_MODIFY_INVALID"
    r.engine.algos.modify(pid, qty="22")  # 20 filled + 5 working > 22: the child goes
    assert r.children(pid)[0].status is OrderStatus.CANCELED
    r.invariant(pid, Decimal(22))
    r.advance(60)
    assert len(r.children(pid)) == 1  # 20 filled is ahead of 11 due after two slices
    r.advance(120)  # the last slice: the schedule wants all 22
    kids = r.children(pid)
    assert kids[-1].qty == Decimal(2)
    assert kids[-1].is_open
    r.fill(kids[-1], "2")
    r.advance(1)
    assert r.engine.algos.report(pid).status is OrderStatus.FILLED
    assert sum(o.filled_qty for o in r.children(pid)) == Decimal(22)


def test_modify_up_and_a_new_limit_reach_the_next_slices(tmp_path: Path) -> None:
    r = rig(tmp_path)
    pid = limit_twap(r)
    [child] = r.working(pid)
    r.fill(child, "25")
    r.engine.algos.modify(pid, qty="200", limit_price="101")
    r.advance(60)
    second = r.working(pid)[0]
    assert second.qty == Decimal(75)
    assert second.limit_price == Decimal(101)
    r.invariant(pid, Decimal(200))


@pytest.mark.parametrize("stop", ["kill_switch", "halted"])
def test_a_kill_switch_or_halted_stops_new_children_at_once(tmp_path: Path, stop: str) -> None:
    r = rig(tmp_path)
    pid = limit_twap(r)
    [child] = r.working(pid)
    r.fill(child, "25")
    desk = r.runtime.desk
    assert desk is not None
    if stop == "kill_switch":
        desk.board.set("GLOBAL", reason="test", actor="ops")
        code = "E_RISK_KILL_SWITCH"
    else:
        desk.set_trading_state("HALTED", reason="test", actor="ops")
        code = "E_RISK_TRADING_HALTED"
    r.advance(60)
    refused = r.children(pid)[-1]
    assert refused.status is OrderStatus.REJECTED
    assert refused.error_code == code
    sent_before = len(r.broker.submits)
    for _ in range(10):
        r.advance(5)
    assert len(r.broker.submits) == sent_before  # nothing reached the broker
    assert len(r.children(pid)) == 2  # one refusal in the slice, not one per tick
    if stop == "kill_switch":
        desk.board.clear("GLOBAL", reason="over", actor="ops")
    else:
        desk.set_trading_state("NORMAL", reason="over", actor="ops")
    r.advance(60)
    assert r.working(pid)[-1].qty == Decimal(50)  # caught up: 75 due, 25 filled


def test_random_partial_fills_ticks_and_modifies_never_overfill(tmp_path: Path) -> None:
    rng = random.Random(18)
    for trial in range(6):
        r = rig(tmp_path / str(trial))
        r.broker.on_submit = None
        qty = Decimal(100)
        pid = r.submit(
            idempotency_key=f"p{trial}",
            order_type="LIMIT",
            limit_price="100",
            algo={"kind": "twap", "horizon_s": 600, "slices": 10},
        ).order_id
        for _ in range(60):
            action = rng.random()
            working = r.working(pid)
            if working and action < 0.5:
                child = working[0]
                r.fill(child, str(rng.randint(1, int(child.leaves_qty))))
            elif action < 0.6 and r.engine.algos.view(pid)["status"] == "WORKING":
                filled = sum(o.filled_qty for o in r.children(pid))
                new = Decimal(rng.randint(int(filled) + 1, 150))
                r.engine.algos.modify(pid, qty=str(new))
                qty = new
            r.advance(rng.choice((1, 10, 30, 60)))
            r.invariant(pid, qty)
        assert sum(o.filled_qty for o in r.children(pid)) <= qty


def test_a_parent_recorded_elsewhere_is_taken_up_and_never_resent(tmp_path: Path) -> None:
    from ordergate.engine.algos import AlgoDesk

    r = rig(tmp_path)
    serving = r.engine.algos
    serving.reload_s = 0.0
    assert serving.tick() == 0  # it knows of no parent
    elsewhere = AlgoDesk(r.engine)  # a command line's engine, on the same store
    intent = {"idempotency_key": "p9", "symbol": "AAPL", "side": "BUY", "qty": "100"}
    pid = elsewhere.submit(OrderIntent.parse({**intent, "algo": TWAP})).order_id
    [first] = r.children(pid)
    r.fill(first, "25")
    r.advance(60)  # the serving desk takes the parent up: slice 2, never slice 1 again
    assert [o.idempotency_key for o in r.children(pid)] == ["p9/slice-1", "p9/slice-2"]
    r.engine.algos.cancel(pid)
    elsewhere_view = elsewhere.view(pid)
    assert elsewhere_view["status"] == "CANCELED"
