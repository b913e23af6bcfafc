"""The risk ledger's seen-id sets: exact, and a few bytes an id for sequential ids."""

from __future__ import annotations

import random
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal

from ordergate.risk.ledger import RiskLedger, SeenIds

DAY = "2026-01-05"
TS = datetime(2026, 1, 5, 15, tzinfo=UTC)


def keys(n: int) -> list[str]:
    return [f"ord_{i:012d}\x1fSIM{i}-E{i}" for i in range(1, n)]


def test_membership_is_exact_across_shapes_widths_and_late_arrivals() -> None:
    seen, truth = SeenIds(), set()
    odd = ["x", "1", "01", "001", "a1b2", "a01b2", "\u0663", "ord_1", "ord_01", "ord_"]
    randoms = [f"ord_{random.Random(i).getrandbits(128):032x}" for i in range(50)]
    order = keys(12_000) + [f"ord_{i:012d}" for i in range(1, 9_000)] + odd + randoms
    shuffle = random.Random(7)
    for i in range(0, len(order) - 60, 1_013):  # some ids arrive late, across a settle
        order[i : i + 60] = shuffle.sample(order[i : i + 60], 60)
    for key in order:
        assert seen.add(key) is (key not in truth), key
        truth.add(key)
    assert len(seen) == len(truth)
    for key in order:
        assert key in seen
        assert not seen.add(key)
    # neighbours of what is there, which a lossy encoding would confuse
    near = ["ord_000000000000", "ord_0000000000001", "ord_000000012000", "2", "0001", "\u0664"]
    near += ["a1b3", "ord_000000000001\x1fSIM1-E2", "ord_000000000001\x1fSIM01-E1"]
    for key in near:
        assert (key in seen) is (key in truth), key
    assert 3 not in seen  # not a str


def test_equal_sets_compare_equal_however_they_were_filled() -> None:
    a, b = SeenIds(), SeenIds()
    ids = keys(9_000)
    for key in ids:
        a.add(key)
    for key in reversed(ids):
        b.add(key)
    assert a == b
    b.add("ord_x")
    assert a != b


def test_a_fill_replayed_long_after_is_still_refused() -> None:
    ledger = RiskLedger()
    for i in range(1, 10_001):
        ledger.on_fill("s", "AAA", Decimal("-1"), TS, DAY, closing=True,
                       order_id=f"ord_{i:012d}", exec_id=f"SIM{i}-E{i}")  # fmt: skip
    day = ledger.day("default", DAY)
    assert (day.trades, day.realized) == (10_000, Decimal("-10000"))
    ledger.on_fill("s", "AAA", Decimal("-1"), TS, DAY, closing=True,
                   order_id="ord_000000000003", exec_id="SIM3-E3")  # fmt: skip
    assert (day.trades, day.realized, day.loss_streak) == (10_000, Decimal("-10000"), 10_000)


def test_a_day_of_sequential_fills_costs_a_few_bytes_an_order() -> None:
    """The previous sets of strings held ~250 bytes an order; the bench's 1M-order day
    must fit in 50 MB with everything else."""
    ledger = RiskLedger()
    ledger.on_fill("s", "AAA", Decimal(0), TS, DAY, closing=False, order_id="o", exec_id="e")
    n = 60_000
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(1, n + 1):
        ledger.on_fill("s", "AAA", Decimal(0), TS, DAY, closing=False,
                       order_id=f"ord_{i:012d}", exec_id=f"SIM{i}-E{i}")  # fmt: skip
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert ledger.day("default", DAY).trades == n + 1
    assert grown / n < 48, f"{grown / n:.0f} bytes an order"
