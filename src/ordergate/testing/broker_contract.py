"""The broker contract suite: the cases every adapter passes, chosen by capability.

An adapter's tests subclass :class:`BrokerContract` and give it a ``harness`` fixture
(:class:`~ordergate.testing.harness.BrokerHarness`, built fresh for each case)::

    from ordergate.testing.broker_contract import BrokerContract

    class TestMyBrokerContract(BrokerContract):
        @pytest.fixture
        def harness(self, my_fake) -> Iterator[MyHarness]:
            yield MyHarness(my_fake)

A case runs when the adapter's declared capabilities call for it and the harness has
the ability it needs; otherwise it is skipped with the reason. A skip is not a pass:
``docs/adapters.md`` says which skips an adapter may have.

What the cases hold an adapter to (beyond "the call works"):

- every :class:`BrokerOrder` is whole: executions cumulative with unique ids,
  ``filled_qty`` their sum, ``avg_price`` their average, FILLED only when all filled;
- a submit whose answer is lost raises :class:`BrokerTimeout` (unknown), never a
  rejection; one the broker never took raises :class:`BrokerUnavailable`;
- the declaration is true: a broker declared to dedupe does, one declared not to is
  not passed off as deduping, a broker whose look-ups lag does not claim conclusive
  misses, the stream replays what it missed if it says so;
- fills are never lost: not by a cancel they race, not by a dropped stream, not by
  duplicate or reordered reports; orders the broker originates are reported too.

This module imports pytest; ``import ordergate`` never imports it.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

import pytest

from ordergate.brokers.base import BrokerOrder
from ordergate.domain.capabilities import (
    BrokerCapabilities,
    ClientIdDedupe,
    Modify,
    client_order_id_problem,
)
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import BrokerError, BrokerRejected, BrokerTimeout, ErrorCode
from ordergate.domain.fills import Amend
from ordergate.domain.money import ZERO
from ordergate.domain.wire import OrderRequest
from ordergate.testing.harness import (
    BrokerHarness,
    DropsRequests,
    DropsStream,
    FillsInParts,
    HidesOrders,
    LosesReplies,
    Modifies,
    Originates,
    RacesCancel,
    Rejects,
    ShapesStream,
)

__all__ = ["BrokerContract", "assert_whole", "eventually"]

#: how long a case waits for the fake to come round (wall time; the fakes are local)
WAIT_S = 10.0
#: the engine's client order ids: ``og`` + 24 hex digits (engine.client_order_id_for)
ENGINE_ID_EXAMPLE = "og" + "0123456789abcdef01234567"
T = TypeVar("T")


def eventually(
    harness: BrokerHarness, probe: Callable[[], T | None], what: str, wait_s: float = WAIT_S
) -> T:
    """Settle the fake until ``probe`` answers something truthy; fail saying ``what``."""
    deadline = time.monotonic() + wait_s
    while True:
        harness.settle()
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"after {wait_s:g}s still not: {what}")
        time.sleep(0.01)


def assert_whole(view: BrokerOrder) -> None:
    """One broker view is self-consistent (the engine applies it as cumulative): the
    executions that stand (a busted one is listed, marked, and counts for nothing)."""
    ids = [e.exec_id for e in view.executions]
    assert len(ids) == len(set(ids)), f"{view.client_order_id}: repeated exec ids {ids}"
    standing = [e for e in view.executions if e.amend is not Amend.BUST]
    filled = sum((e.last_qty for e in standing), ZERO)
    assert view.filled_qty == filled, (
        f"{view.client_order_id}: filled_qty {view.filled_qty} but its executions sum to "
        f"{filled} (executions must be every execution so far)"
    )
    assert ZERO <= view.filled_qty <= view.qty, f"{view.client_order_id}: filled past qty"
    if view.status is OrderStatus.FILLED:
        assert view.filled_qty == view.qty, f"{view.client_order_id}: FILLED with leaves"
    if filled:
        assert view.avg_price is not None, f"{view.client_order_id}: filled, no avg_price"
        average = sum((e.last_qty * e.last_px for e in standing), ZERO) / filled
        assert abs(view.avg_price - average) <= average * Decimal("1e-8"), (
            f"{view.client_order_id}: avg_price {view.avg_price}, executions say {average}"
        )
    assert all(isinstance(e.last_px, Decimal) for e in view.executions), "money is Decimal"


@dataclass
class _Listener:
    """Collects what the stream pushes (from any thread)."""

    views: list[BrokerOrder] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, view: BrokerOrder) -> None:
        with self.lock:
            self.views.append(view)

    def of(self, client_order_id: str) -> list[BrokerOrder]:
        with self.lock:
            return [v for v in self.views if v.client_order_id == client_order_id]

    def of_all(self) -> list[BrokerOrder]:
        with self.lock:
            return list(self.views)

    def saw(self, client_order_id: str, status: OrderStatus) -> BrokerOrder | None:
        return next((v for v in self.of(client_order_id) if v.status is status), None)


def _saw(stream: _Listener, cid: str, status: OrderStatus) -> Callable[[], BrokerOrder | None]:
    return lambda: stream.saw(cid, status)


class BrokerContract:
    """The cases; subclass it (``Test…``) and provide a ``harness`` fixture."""

    # ------------------------------------------------------------ helpers

    @staticmethod
    def caps(harness: BrokerHarness) -> BrokerCapabilities:
        return harness.adapter.capabilities

    def new_id(self, harness: BrokerHarness) -> str:
        """A fresh client order id in the engine's shape, cut to what the broker takes."""
        cid = ("og" + uuid.uuid4().hex)[: min(26, self.caps(harness).client_id_max_length)]
        problem = client_order_id_problem(self.caps(harness), cid)
        assert problem is None, problem
        return cid

    def request(
        self,
        harness: BrokerHarness,
        *,
        qty: str = "10",
        side: Side = Side.BUY,
        resting: bool = False,
        client_order_id: str | None = None,
    ) -> OrderRequest:
        """A market order (a marketable limit where the broker has no market orders),
        or with ``resting`` a buy limit at half the market, which waits."""
        caps = self.caps(harness)
        tif = TimeInForce.DAY if TimeInForce.DAY in caps.time_in_force else TimeInForce.GTC
        limit: Decimal | None = None
        kind = OrderType.MARKET
        if resting:
            if OrderType.LIMIT not in caps.order_types:
                pytest.skip("the broker takes no limit orders: nothing can rest")
            kind, limit = OrderType.LIMIT, (harness.price / 2).quantize(Decimal("0.01"))
        elif OrderType.MARKET not in caps.order_types:
            kind = OrderType.LIMIT
            limit = harness.price * (2 if side is Side.BUY else Decimal("0.5"))
        return OrderRequest(
            client_order_id=client_order_id or self.new_id(harness),
            account_id=harness.account_id,
            symbol=harness.symbol,
            side=side,
            qty=Decimal(qty),
            order_type=kind,
            time_in_force=tif,
            limit_price=limit,
        )

    def final(self, harness: BrokerHarness, client_order_id: str) -> BrokerOrder:
        """The order once the broker has it final, as a look-up shows it."""

        def probe() -> BrokerOrder | None:
            view = harness.adapter.fetch_order(client_order_id)
            return view if view is not None and view.status.is_terminal else None

        view = eventually(harness, probe, f"order {client_order_id} final at the broker")
        assert_whole(view)
        return view

    def filled(self, harness: BrokerHarness, request: OrderRequest) -> BrokerOrder:
        receipt = harness.adapter.submit(request)
        assert_whole(receipt)
        view = self.final(harness, request.client_order_id)
        assert view.status is OrderStatus.FILLED, f"{view.status}: {view.reason}"
        return view

    def resting(self, harness: BrokerHarness, request: OrderRequest) -> BrokerOrder:
        receipt = harness.adapter.submit(request)
        assert_whole(receipt)
        assert receipt.status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED), receipt
        return receipt

    def position(self, harness: BrokerHarness) -> Decimal:
        return sum(
            (
                p.qty
                for p in harness.adapter.fetch_positions()
                if p.symbol == harness.symbol and p.account_id == harness.account_id
            ),
            ZERO,
        )

    # ----------------------------------------------------- the declaration

    def test_the_declaration_is_whole(self, harness: BrokerHarness) -> None:
        adapter, caps = harness.adapter, self.caps(harness)
        assert isinstance(caps, BrokerCapabilities)
        assert adapter.adapter_id
        assert adapter.dedupes_client_order_id is caps.dedupes_client_order_id
        assert caps.order_types & {OrderType.MARKET, OrderType.LIMIT}, "market or limit"
        problem = client_order_id_problem(caps, ENGINE_ID_EXAMPLE)
        assert problem is None, f"the engine's client ids do not fit: {problem}"

    # ---------------------------------------------------- submit and fill

    def test_submit_and_fill(self, harness: BrokerHarness) -> None:
        request = self.request(harness)
        receipt = harness.adapter.submit(request)
        assert receipt.client_order_id == request.client_order_id
        assert receipt.broker_order_id, "the broker's own id"
        assert (receipt.symbol, receipt.side, receipt.qty) == (
            request.symbol,
            request.side,
            request.qty,
        )
        view = self.final(harness, request.client_order_id)
        assert view.status is OrderStatus.FILLED
        assert view.broker_order_id == receipt.broker_order_id
        assert view.executions, "a fill comes with its executions"

    def test_a_resting_order_is_open_and_found(self, harness: BrokerHarness) -> None:
        request = self.request(harness, resting=True)
        receipt = self.resting(harness, request)
        view = harness.adapter.fetch_order(request.client_order_id)
        assert view is not None
        assert view.broker_order_id == receipt.broker_order_id
        assert view.filled_qty == ZERO
        if view.limit_price is not None:
            assert view.limit_price == request.limit_price
        opened = [o.client_order_id for o in harness.adapter.fetch_open_orders()]
        assert request.client_order_id in opened

    def test_partial_fills(self, harness: BrokerHarness) -> None:
        if not isinstance(harness, FillsInParts):
            pytest.skip("the harness cannot make its fake fill in parts")
        stream = _Listener()
        harness.adapter.subscribe(stream)
        harness.arm_parts(2)
        request = self.request(harness, resting=True)
        self.resting(harness, request)
        harness.trade(request.client_order_id)
        view = self.final(harness, request.client_order_id)
        assert view.status is OrderStatus.FILLED
        assert len(view.executions) == 2, view.executions
        partial = eventually(
            harness,
            lambda: stream.saw(request.client_order_id, OrderStatus.PARTIALLY_FILLED),
            "a PARTIALLY_FILLED report on the stream",
        )
        assert_whole(partial)
        assert ZERO < partial.filled_qty < request.qty

    # ------------------------------------------------------------- cancel

    def test_cancel(self, harness: BrokerHarness) -> None:
        request = self.request(harness, resting=True)
        self.resting(harness, request)
        answer = harness.adapter.cancel(request.client_order_id)
        assert answer.status in (OrderStatus.PENDING_CANCEL, OrderStatus.CANCELED), answer
        view = self.final(harness, request.client_order_id)
        assert view.status is OrderStatus.CANCELED
        assert view.filled_qty == ZERO
        opened = [o.client_order_id for o in harness.adapter.fetch_open_orders()]
        assert request.client_order_id not in opened

    def test_cancel_of_a_filled_order(self, harness: BrokerHarness) -> None:
        request = self.request(harness)
        before = self.filled(harness, request)
        try:
            answer = harness.adapter.cancel(request.client_order_id)
        except BrokerRejected:
            pass  # "too late to cancel": a definitive no, as it should be
        else:
            assert answer.status is OrderStatus.FILLED, f"a filled order became {answer.status}"
        after = self.final(harness, request.client_order_id)
        assert after.status is OrderStatus.FILLED
        assert after.executions == before.executions

    def test_cancel_of_an_order_the_broker_never_had(self, harness: BrokerHarness) -> None:
        with pytest.raises(BrokerRejected):
            harness.adapter.cancel(self.new_id(harness))

    def test_a_fill_racing_a_cancel_is_kept(self, harness: BrokerHarness) -> None:
        if not isinstance(harness, RacesCancel):
            pytest.skip("the harness cannot race a fill with a cancel")
        harness.arm_cancel_race()
        request = self.request(harness, resting=True)
        self.resting(harness, request)
        with contextlib.suppress(BrokerRejected):  # the fill may get there first
            harness.adapter.cancel(request.client_order_id)
        harness.trade(request.client_order_id)

        def filled() -> BrokerOrder | None:
            view = harness.adapter.fetch_order(request.client_order_id)
            return view if view is not None and view.status is OrderStatus.FILLED else None

        view = eventually(harness, filled, "the raced order FILLED (its fill not lost)")
        assert_whole(view)
        assert view.filled_qty == request.qty

    # ------------------------------------------------------------- modify

    def test_modify(self, harness: BrokerHarness) -> None:
        caps = self.caps(harness)
        if caps.modify is Modify.NONE:
            pytest.skip("no native modify declared")
        adapter = harness.adapter
        assert isinstance(adapter, Modifies), f"modify={caps.modify} declared, no modify()"
        request = self.request(harness, resting=True)
        self.resting(harness, request)
        assert request.limit_price is not None
        price = request.limit_price + Decimal("1")
        new_id = self.new_id(harness)
        adapter.modify(request.client_order_id, new_client_order_id=new_id, limit_price=price)
        working = request.client_order_id if caps.modify is Modify.REPLACE else new_id

        def replaced() -> BrokerOrder | None:
            opened = {o.client_order_id for o in adapter.fetch_open_orders()}
            assert not {request.client_order_id, new_id} <= opened, "both orders working"
            view = adapter.fetch_order(working)
            return view if view is not None and view.limit_price == price else None

        view = eventually(harness, replaced, f"{working} working at {price}")
        assert view.status.is_open
        if caps.modify is Modify.CANCEL_REPLACE:
            assert self.final(harness, request.client_order_id).status.is_terminal

    def modifier(self, harness: BrokerHarness) -> Modifies:
        caps = self.caps(harness)
        if caps.modify is Modify.NONE:
            pytest.skip("no native modify declared")
        adapter = harness.adapter
        assert isinstance(adapter, Modifies), f"modify={caps.modify} declared, no modify()"
        return adapter

    def test_modify_the_quantity(self, harness: BrokerHarness) -> None:
        """``qty`` is the new total: more, then less, each one replace."""
        adapter, caps = self.modifier(harness), self.caps(harness)
        request = self.request(harness, resting=True)
        self.resting(harness, request)
        working = request.client_order_id
        for qty in (Decimal(15), Decimal(6)):
            new_id = self.new_id(harness)
            answer = adapter.modify(working, new_client_order_id=new_id, qty=qty)
            assert_whole(answer)
            if caps.modify is Modify.CANCEL_REPLACE:
                working = new_id

            def changed(cid: str = working, qty: Decimal = qty) -> BrokerOrder | None:
                view = harness.adapter.fetch_order(cid)
                return view if view is not None and view.qty == qty else None

            view = eventually(harness, changed, f"{working} working for {qty}")
            assert view.status.is_open
            assert view.filled_qty == ZERO

    def test_modify_of_a_filled_order_is_refused(self, harness: BrokerHarness) -> None:
        """Too late to replace: a definitive no, and the fills stay as they were."""
        adapter = self.modifier(harness)
        request = self.request(harness)
        before = self.filled(harness, request)
        with pytest.raises(BrokerRejected):
            adapter.modify(
                request.client_order_id,
                new_client_order_id=self.new_id(harness),
                qty=request.qty + 5,
            )
        after = self.final(harness, request.client_order_id)
        assert after.status is OrderStatus.FILLED
        assert after.qty == request.qty
        assert after.executions == before.executions

    def test_a_fill_racing_a_modify_is_kept(self, harness: BrokerHarness) -> None:
        """The market trades the order as the replace is sent: whichever lands first,
        no fill is lost, and the order never ends up below what filled."""
        adapter = self.modifier(harness)
        request = self.request(harness, resting=True)
        self.resting(harness, request)
        harness.trade(request.client_order_id)
        with contextlib.suppress(BrokerRejected):  # the fill may get there first
            adapter.modify(
                request.client_order_id,
                new_client_order_id=self.new_id(harness),
                qty=request.qty - 4,
            )

        def traded() -> BrokerOrder | None:
            view = harness.adapter.fetch_order(request.client_order_id)
            return view if view is not None and view.filled_qty > 0 else None

        view = eventually(harness, traded, "the raced order's fill (not lost)")
        assert_whole(view)
        assert view.filled_qty in (request.qty, request.qty - 4), view

    # ------------------------------------------- unknown, missing, unseen

    def test_a_look_up_of_an_order_never_sent_misses(self, harness: BrokerHarness) -> None:
        assert harness.adapter.fetch_order(self.new_id(harness)) is None

    def test_a_submit_the_broker_never_took(self, harness: BrokerHarness) -> None:
        if not isinstance(harness, DropsRequests):
            pytest.skip("the harness cannot refuse a submit before the broker takes it")
        harness.drop_next_submit()
        request = self.request(harness)
        with pytest.raises(BrokerError) as info:
            harness.adapter.submit(request)
        assert info.value.code is ErrorCode.E_EXEC_BROKER_UNAVAILABLE, info.value
        harness.settle()
        assert harness.adapter.fetch_order(request.client_order_id) is None

    def test_a_lost_answer_is_unknown_and_the_order_is_found(self, harness: BrokerHarness) -> None:
        if not isinstance(harness, LosesReplies):
            pytest.skip("the harness cannot lose a reply")
        harness.lose_next_reply()
        request = self.request(harness)
        with pytest.raises(BrokerTimeout):  # never "rejected", never "not received"
            harness.adapter.submit(request)
        view = eventually(
            harness,
            lambda: harness.adapter.fetch_order(request.client_order_id),
            "the order whose answer was lost, found by a look-up",
        )
        assert_whole(view)

    def test_an_order_not_yet_visible(self, harness: BrokerHarness) -> None:
        if not isinstance(harness, HidesOrders):
            pytest.skip("the harness cannot hide an order from look-ups")
        assert not self.caps(harness).lookup_miss_conclusive, (
            "look-ups can lag behind a submit here, so a miss proves nothing: "
            "declare lookup_miss_conclusive=False"
        )
        harness.hide_next(1.5)
        request = self.request(harness, resting=True)
        receipt = self.resting(harness, request)
        assert harness.adapter.fetch_order(request.client_order_id) is None
        view = eventually(
            harness,
            lambda: harness.adapter.fetch_order(request.client_order_id),
            "the hidden order visible again",
        )
        assert view.broker_order_id == receipt.broker_order_id

    def test_a_repeated_client_id(self, harness: BrokerHarness) -> None:
        caps = self.caps(harness)
        start = self.position(harness)
        request = self.request(harness, resting=caps.dedupe is ClientIdDedupe.WHILE_OPEN)
        first = harness.adapter.submit(request)
        if caps.dedupe is not ClientIdDedupe.WHILE_OPEN:
            self.final(harness, request.client_order_id)  # ALWAYS: even once final
        try:
            again = harness.adapter.submit(request)
        except BrokerRejected:
            assert caps.dedupe is ClientIdDedupe.NEVER, "declared to dedupe, refused instead"
            return
        if caps.dedupe is ClientIdDedupe.NEVER:
            assert again.broker_order_id != first.broker_order_id, (
                "declared not to dedupe, yet the repeat came back as the first order: "
                "either the broker dedupes (declare it) or the adapter passes a second "
                "order off as the first"
            )
            return
        assert again.broker_order_id == first.broker_order_id, "a second order was opened"
        if caps.dedupe is ClientIdDedupe.ALWAYS:
            assert self.position(harness) == start + request.qty, "the repeat filled again"

    def test_a_rejection_carries_the_brokers_reason(self, harness: BrokerHarness) -> None:
        if not isinstance(harness, Rejects):
            pytest.skip("the harness cannot make its fake reject")
        request, reason = harness.arm_reject(self.request(harness))
        with pytest.raises(BrokerRejected) as info:
            harness.adapter.submit(request)
        assert info.value.code is ErrorCode.E_EXEC_BROKER_REJECTED
        assert reason in info.value.message, f"the broker's reason is lost: {info.value}"
        view = harness.adapter.fetch_order(request.client_order_id)
        assert view is None or view.status is OrderStatus.REJECTED, view

    # ---------------------------------------------- positions and account

    def test_positions(self, harness: BrokerHarness) -> None:
        start = self.position(harness)
        a = self.filled(harness, self.request(harness, qty="3"))
        b = self.filled(harness, self.request(harness, qty="2"))
        [position] = [
            p
            for p in harness.adapter.fetch_positions()
            if p.symbol == harness.symbol and p.account_id == harness.account_id
        ]
        assert position.qty == start + 5
        if start == 0:
            assert a.avg_price is not None
            assert b.avg_price is not None
            cost = (a.avg_price * 3 + b.avg_price * 2) / 5
            assert abs(position.avg_price - cost) <= cost * Decimal("1e-8")
        self.filled(harness, self.request(harness, qty="5", side=Side.SELL))
        assert self.position(harness) == start

    def test_account(self, harness: BrokerHarness) -> None:
        before = harness.adapter.fetch_account()
        assert before.account_id == harness.account_id
        for amount in (before.cash, before.equity, before.buying_power):
            assert isinstance(amount, Decimal)
        view = self.filled(harness, self.request(harness, qty="4"))
        after = harness.adapter.fetch_account()
        spent = sum((e.last_qty * e.last_px + e.commission for e in view.executions), ZERO)
        assert after.cash == before.cash - spent, "cash moves by the fill and its fees"

    # ------------------------------------------------------------- stream

    def test_the_stream_delivers_changes(self, harness: BrokerHarness) -> None:
        stream = _Listener()
        harness.adapter.subscribe(stream)
        request = self.request(harness, resting=True)
        self.resting(harness, request)
        harness.trade(request.client_order_id)
        view = eventually(
            harness,
            lambda: stream.saw(request.client_order_id, OrderStatus.FILLED),
            "the fill pushed by the stream",
        )
        assert_whole(view)
        assert view.executions == self.final(harness, request.client_order_id).executions
        for pushed in stream.of_all():
            assert_whole(pushed)

    def test_duplicate_and_out_of_order_reports(self, harness: BrokerHarness) -> None:
        if not isinstance(harness, ShapesStream):
            pytest.skip("the harness cannot duplicate or reorder reports")
        stream = _Listener()
        harness.adapter.subscribe(stream)
        harness.shape_stream(duplicate=True, reorder=True)
        requests = [self.request(harness, resting=True) for _ in range(2)]
        for request in requests:
            self.resting(harness, request)
        for request in requests:
            harness.trade(request.client_order_id)
        for request in requests:
            cid = request.client_order_id
            final = self.final(harness, cid)
            eventually(harness, _saw(stream, cid, OrderStatus.FILLED), f"{cid} FILLED pushed")
            seen = stream.of(cid)
            for view in seen:
                assert_whole(view)  # each report stands alone, whatever its order
            exec_ids = {e.exec_id for v in seen for e in v.executions}
            assert exec_ids == {e.exec_id for e in final.executions}
            assert max(seen, key=lambda v: v.filled_qty).status is OrderStatus.FILLED
        views = stream.of_all()
        assert any(views.count(v) > 1 for v in views), (
            "the fake was to deliver reports twice: the case tested nothing"
        )

    def test_reconnect(self, harness: BrokerHarness) -> None:
        if not isinstance(harness, DropsStream):
            pytest.skip("the harness cannot drop the stream")
        stream = _Listener()
        harness.adapter.subscribe(stream)
        missed = self.request(harness, resting=True)
        self.resting(harness, missed)
        harness.drop_stream()
        harness.trade(missed.client_order_id)
        view = harness.adapter.fetch_order(missed.client_order_id)
        assert view is not None, "look-ups work while the stream is down"
        assert view.status is OrderStatus.FILLED, view
        harness.restore_stream()
        if self.caps(harness).stream_replays:
            eventually(
                harness,
                lambda: stream.saw(missed.client_order_id, OrderStatus.FILLED),
                "the fill made while the stream was down, replayed (stream_replays=True)",
            )
        later = self.request(harness, resting=True)
        self.resting(harness, later)
        harness.trade(later.client_order_id)
        eventually(
            harness,
            lambda: stream.saw(later.client_order_id, OrderStatus.FILLED),
            "a fill after the reconnect, pushed by the stream",
        )

    # ------------------------------------------------ the broker's own orders

    def test_orders_and_fills_the_broker_originates(self, harness: BrokerHarness) -> None:
        if not isinstance(harness, Originates):
            pytest.skip("the harness cannot place an order on the broker's side")
        stream = _Listener()
        harness.adapter.subscribe(stream)
        start = self.position(harness)
        cid = harness.originate(Side.BUY, Decimal(7))
        view = eventually(
            harness, lambda: stream.saw(cid, OrderStatus.FILLED), "the foreign fill pushed"
        )
        assert_whole(view)
        found = harness.adapter.fetch_order(cid)
        assert found is not None
        assert found.status is OrderStatus.FILLED
        assert self.position(harness) == start + 7, "positions include the broker's own fills"
