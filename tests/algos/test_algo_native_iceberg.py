"""An iceberg is native where the broker has a display quantity (its capability
``display_qty``): one child of all that is left, carrying the display quantity; and
synthetic otherwise. A broker without the capability never receives a display quantity
(issue 18)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ErrorCode, InvalidIntent
from ordergate.domain.intent import OrderIntent
from ordergate.engine.algos import child_intent

from .kit import Rig, rejecting, rig

ICEBERG = {"kind": "iceberg", "display_qty": "30"}


def native(tmp_path: Path) -> Rig:
    r = rig(tmp_path)
    r.broker.capabilities = replace(r.broker.capabilities, display_qty=True)  # type: ignore[misc]
    return r


def iceberg(r: Rig) -> str:
    report = r.submit(order_type="LIMIT", limit_price="100", algo=ICEBERG)
    assert report.status is OrderStatus.ACCEPTED, report
    return report.order_id


def test_a_native_iceberg_is_one_child_of_everything_showing_the_display(tmp_path: Path) -> None:
    r = native(tmp_path)
    pid = iceberg(r)
    [child] = r.children(pid)
    assert child.qty == Decimal(100)
    [sent] = r.broker.submits
    assert sent.qty == Decimal(100)
    assert sent.display_qty == Decimal(30)
    assert sent.limit_price == Decimal(100)
    r.fill(child, "30")  # the broker refills its own display: nothing new from us
    for _ in range(3):
        assert r.advance(10) == 0
    assert len(r.broker.submits) == 1
    r.fill(r.children(pid)[0], "70")
    r.advance(1)
    assert len(r.children(pid)) == 1
    assert r.engine.algos.report(pid).status is OrderStatus.FILLED
    r.invariant(pid, Decimal(100))


def test_a_refused_native_child_is_followed_by_one_of_what_is_left(tmp_path: Path) -> None:
    r = native(tmp_path)
    r.broker.on_submit = lambda req: rejecting(req, r.clock)
    pid = iceberg(r)
    assert r.children(pid)[0].status is OrderStatus.REJECTED
    r.broker.on_submit = None
    r.advance(10)
    kids = r.children(pid)
    assert [k.qty for k in kids] == [Decimal(100), Decimal(100)]
    assert r.broker.submits[-1].display_qty == Decimal(30)
    r.fill(kids[1], "45")
    r.engine.algos.cancel(pid)
    assert r.children(pid)[1].status is OrderStatus.CANCELED
    r.advance(10)
    assert len(r.children(pid)) == 2  # a canceled parent sends nothing more
    r.invariant(pid, Decimal(100))


def test_without_the_capability_the_iceberg_stays_synthetic(tmp_path: Path) -> None:
    r = rig(tmp_path)
    pid = iceberg(r)
    [first] = r.children(pid)
    assert first.qty == Decimal(30)
    r.fill(first, "30")
    r.advance(1)
    assert [k.qty for k in r.children(pid)] == [Decimal(30), Decimal(30)]
    assert all(s.display_qty is None for s in r.broker.submits)


def test_a_plain_display_qty_is_refused_where_the_broker_has_none(tmp_path: Path) -> None:
    r = rig(tmp_path)
    with pytest.raises(InvalidIntent) as refused:
        r.submit(order_type="LIMIT", limit_price="100", display_qty="10")
    assert refused.value.code is ErrorCode.E_INTENT_INVALID
    assert refused.value.field == "display_qty"
    assert r.broker.submits == []  # never sent, nothing recorded: the key is free
    report = r.submit(order_type="LIMIT", limit_price="100")
    assert report.status is OrderStatus.ACCEPTED
    assert r.broker.submits[-1].display_qty is None


def test_a_plain_display_qty_reaches_a_broker_that_has_one(tmp_path: Path) -> None:
    r = native(tmp_path)
    report = r.submit(order_type="LIMIT", limit_price="100", display_qty="10")
    assert report.status is OrderStatus.ACCEPTED
    assert r.broker.submits[-1].display_qty == Decimal(10)
    assert r.broker.submits[-1].to_dict()["display_qty"] == "10"


def test_display_qty_on_the_intent_round_trips_and_is_checked() -> None:
    base = {"idempotency_key": "k", "symbol": "AAPL", "side": "BUY", "qty": "100"}
    plain = OrderIntent.parse({**base, "order_type": "LIMIT", "limit_price": "1"})
    assert "display_qty" not in plain.to_dict()  # the payload hash of old intents holds
    shown = OrderIntent.parse({**base, "order_type": "LIMIT", "limit_price": "1", "display_qty": 5})
    assert shown.display_qty == Decimal(5)
    assert OrderIntent.parse(shown.to_dict()) == shown  # a recovery resend keeps it
    assert shown.payload_hash() != plain.payload_hash()
    for wrong in (
        {**base, "display_qty": "5"},  # a market order
        {**base, "order_type": "LIMIT", "limit_price": "1", "display_qty": "0"},
        {**base, "order_type": "LIMIT", "limit_price": "1", "display_qty": "5", "algo": ICEBERG},
    ):
        with pytest.raises(InvalidIntent) as bad:
            OrderIntent.parse(wrong)
        assert bad.value.field == "display_qty"


def test_a_child_carries_the_display_only_when_asked(tmp_path: Path) -> None:
    r = rig(tmp_path)
    pid = iceberg(r)
    parent = r.engine.algos.book.get(pid)
    assert parent is not None
    assert child_intent(parent, 2, Decimal(70)).display_qty is None
    assert child_intent(parent, 2, Decimal(70), Decimal(30)).display_qty == Decimal(30)
