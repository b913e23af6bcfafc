"""Never two working orders: random sequences of modify, fill and cancel on the paper
venue, with an in-place replace (``REPLACE``), a broker's cancel-replace
(``CANCEL_REPLACE``) and none (``NONE``: the engine cancels, confirms, submits the
rest). After every step the venue has at most one open order of the chain, the engine
agrees with the venue on every order of it, and every fill is booked once."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.brokers.paper import PAPER_CAPABILITIES, PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.capabilities import Modify
from ordergate.domain.errors import InvalidIntent, OrderNotCancelable, OrderNotModifiable
from ordergate.domain.money import ZERO
from ordergate.domain.order import Order
from ordergate.engine.engine import ExecutionEngine
from ordergate.sim.matching import FillModel
from ordergate.store.memory import MemoryStore
from tests.modify.fakes import CancelReplacePaper

D = Decimal
modify = st.tuples(st.just("modify"), st.integers(-6, 6), st.integers(-4, 4), st.booleans())
mark = st.tuples(st.just("mark"), st.integers(84, 100), st.integers(1, 12), st.booleans())
cancel = st.tuples(st.just("cancel"), st.just(0), st.just(0), st.just(False))
steps = st.lists(st.one_of(modify, modify, mark, mark, cancel), min_size=1, max_size=14)


def working(engine: ExecutionEngine) -> list[Order]:
    return [o for o in engine.orders() if o.is_open]


def check(engine: ExecutionEngine, paper: PaperBroker) -> None:
    venue_open = paper.venue.open_orders()
    assert len(venue_open) <= 1, f"two orders working at the venue: {venue_open}"
    ours = engine.orders()
    assert len([o for o in ours if o.is_open]) <= 1, "two orders working in the engine"
    total = ZERO
    for order in ours:
        held = paper.venue.orders.get(order.client_order_id)
        assert held is not None, f"{order.order_id} never reached the venue"
        assert order.filled_qty == held.filled_qty, order.order_id
        assert order.pending_replace is None, "the paper broker answers at once"
        assert order.status.is_open == held.status.is_open, (order.status, held.status)
        assert order.qty == held.request.qty
        assert order.limit_price == held.request.limit_price
        fills = engine.fills(order.order_id)
        assert len({f.exec_id for f in fills}) == len(fills) == len(held.executions)
        total += order.filled_qty
    position = sum((p.qty for p in engine.positions()), ZERO)
    assert position == total


@pytest.mark.parametrize("kind", [Modify.REPLACE, Modify.CANCEL_REPLACE, Modify.NONE])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=steps)
def test_never_two_working_orders(kind: Modify, script: list[tuple[str, int, int, bool]]) -> None:
    clock = SimulatedClock()
    paper = (
        CancelReplacePaper(clock=clock)
        if kind is Modify.CANCEL_REPLACE
        else PaperBroker(clock=clock)
    )
    paper.capabilities = replace(PAPER_CAPABILITIES, modify=kind)
    paper.venue.fill_model = FillModel(participation=D("0.5"))
    engine = ExecutionEngine(MemoryStore(), paper, clock=clock, ids=SequentialIds())
    engine.mark("AAPL", "100")
    engine.submit(
        {
            "symbol": "AAPL",
            "side": "buy",
            "qty": "10",
            "order_type": "limit",
            "limit_price": "90",
            "time_in_force": "GTC",
            "idempotency_key": "k-1",
        }
    )
    check(engine, paper)
    for number, (action, a, b, flag) in enumerate(script):
        clock.advance(timedelta(seconds=1))
        now = working(engine)
        if action == "mark":
            engine.mark("AAPL", str(a), volume=str(b) if flag else None)
        elif action == "cancel" and now:
            with contextlib.suppress(OrderNotCancelable):
                engine.cancel(now[0].order_id)
        elif action == "modify" and now:
            order = now[0]
            qty = order.qty + a
            price = (order.limit_price or D(90)) + b
            with contextlib.suppress(InvalidIntent, OrderNotModifiable):  # refused, with a code
                engine.modify(
                    order.order_id,
                    qty=str(qty) if a or not b else None,
                    limit_price=str(price) if b else None,
                    key=f"m-{number}" if flag else None,
                )
        check(engine, paper)
