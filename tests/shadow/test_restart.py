"""The twin is a store: what it simulated, and what it still works, survive a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ordergate.bootstrap import build_twin
from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.shadow.links import links_for
from ordergate.shadow.report import report_for

from .kit import buy, settings_in, shadowed


def test_the_twin_reopens_with_its_orders_links_marks_and_resting_book(tmp_path: Path) -> None:
    clock = SimulatedClock()
    with shadowed(tmp_path, clock=clock) as s:
        s.engine.mark("AAPL", "100", volume="100000")
        filled = s.engine.submit(buy("r1"))
        resting = s.engine.submit(buy("r2", qty="5", order_type="LIMIT", limit_price="95"))
        assert s.shadow.drain()
        shadow_resting = s.shadow.twin.links.get(resting.order_id)
        assert shadow_resting is not None
        assert s.shadow.twin.engine.order(shadow_resting.shadow_order_id).status is (
            OrderStatus.ACCEPTED
        )
    # both processes stopped; a new one starts on the same files
    clock.advance(timedelta(minutes=5))
    with shadowed(tmp_path, clock=clock) as s:
        twin = s.shadow.twin
        assert [link.real_order_id for link in twin.links.links()] == [
            filled.order_id,
            resting.order_id,
        ]
        assert twin.engine.order(twin.links.links()[0].shadow_order_id).status is (
            OrderStatus.FILLED
        )
        assert len(twin.links.marks("AAPL")) >= 1
        s.engine.mark("AAPL", "94.50", volume="100000")  # the resting limit now fills, twice
        assert s.shadow.drain()
        assert s.engine.order(resting.order_id).status is OrderStatus.FILLED
        assert twin.engine.order(shadow_resting.shadow_order_id).status is OrderStatus.FILLED
        [fill] = twin.engine.fills(shadow_resting.shadow_order_id)
        assert fill.ts == clock.now()  # filled at the time of the real mark that crossed it
        report = report_for(
            s.engine.store,
            twin.engine.store,
            twin.links,
            configured_slippage_bps=s.runtime.settings.slippage_bps,
        )
        assert report["groups"]["all"][0]["compared"] == 2
        row = {r["real_order_id"]: r for r in report["orders"]}[resting.order_id]
        assert (row["real_time_to_fill_s"], row["sim_time_to_fill_s"]) == ("300.000", "300.000")


def test_the_twin_built_on_its_own_reads_the_same_files(tmp_path: Path) -> None:
    with shadowed(tmp_path) as s:
        s.engine.mark("AAPL", "100")
        s.engine.submit(buy("x1"))
        assert s.shadow.drain()
    twin = build_twin(settings_in(tmp_path))
    try:
        assert len(twin.links.links()) == 1
        assert twin.engine.positions()[0].qty == 10
        assert str(twin.engine.store.path).endswith("real.shadow.db")  # type: ignore[attr-defined]
        again = links_for(twin.engine.store)
        assert len(again.links()) == 1
        again.close()
    finally:
        twin.close()


def test_a_restart_does_not_record_the_last_mark_twice(tmp_path: Path) -> None:
    with shadowed(tmp_path) as s:
        s.engine.mark("AAPL", "100", volume="500")
        assert s.shadow.drain()
    with shadowed(tmp_path) as s:
        assert s.shadow.drain()
        assert len(s.shadow.twin.links.marks("AAPL")) == 1
