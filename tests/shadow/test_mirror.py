"""One simulated order per real order that went out, and per bracket child."""

from __future__ import annotations

from pathlib import Path

from ordergate.domain.enums import OrderStatus
from ordergate.store.base import OrderQuery

from .kit import buy, sell, shadowed


def test_every_order_that_went_out_is_simulated_once(tmp_path: Path) -> None:
    with shadowed(tmp_path) as s:
        engine = s.engine
        engine.mark("AAPL", "100", bid="99.99", ask="100.01", volume="100000")
        engine.mark("MSFT", "250")
        reports = [
            engine.submit(buy("m1")),
            engine.submit(sell("m2", symbol="MSFT", qty="3")),
            engine.submit(buy("l1", qty="11", order_type="LIMIT", limit_price="99.00")),
        ]
        engine.submit(buy("m1"))  # a replay of the same key sends nothing new
        # a gate's "no" never went out: no simulation of it
        assert s.runtime.board is not None
        s.runtime.board.set("SYMBOL", "TSLA", "ACTIVE", actor="test", reason="drill")
        s.runtime.desk.refresh()  # type: ignore[union-attr]
        engine.mark("TSLA", "200")
        refused = engine.submit(buy("t1", symbol="TSLA"))
        assert refused.status is OrderStatus.REJECTED
        engine.mark("AAPL", "98.90", volume="100000")  # the limit fills, real and simulated
        assert s.shadow.drain()
        links = s.shadow.twin.links.links()
        assert [link.real_order_id for link in links] == [r.order_id for r in reports]
        twin = s.shadow.twin.engine
        for report, link in zip(reports, links, strict=True):
            real = engine.order(report.order_id)
            assert real.status is OrderStatus.FILLED
            simulated = twin.order(link.shadow_order_id)
            assert simulated.status is OrderStatus.FILLED
            assert (simulated.symbol, simulated.side, simulated.qty, simulated.order_type) == (
                real.symbol,
                real.side,
                real.qty,
                real.order_type,
            )
            assert len(twin.fills(simulated.order_id)) == 1
            assert link.real_client_order_id == real.client_order_id
        assert len(twin.orders(OrderQuery(limit=1000))) == 3
        assert s.shadow.stats()["failed"] == 0


def test_each_bracket_child_is_simulated_and_oco_ends_are_mirrored(tmp_path: Path) -> None:
    with shadowed(tmp_path) as s:
        engine = s.engine
        engine.mark("AAPL", "100", volume="100000")
        entry = engine.submit(buy("b1", sl_offset_pct="-0.02", tp_offset_pct="0.03"))
        assert entry.status is OrderStatus.FILLED
        children = [o for o in engine.orders(OrderQuery(limit=100)) if o.parent_order_id]
        assert len(children) == 2
        engine.mark("AAPL", "104", volume="100000")  # the take-profit fills, the stop is canceled
        assert s.shadow.drain()
        by_real = {link.real_order_id: link for link in s.shadow.twin.links.links()}
        assert set(by_real) == {entry.order_id, *(c.order_id for c in children)}
        twin = s.shadow.twin.engine
        # the twin made no bracket of its own: each real child is its one simulation
        assert len(twin.orders(OrderQuery(limit=100))) == 3
        for child in children:
            link = by_real[child.order_id]
            assert link.real_parent_order_id == entry.order_id
            real = engine.order(child.order_id)
            simulated = twin.order(link.shadow_order_id)
            assert simulated.parent_order_id is None
            assert (simulated.order_type, simulated.stop_price, simulated.limit_price) == (
                real.order_type,
                real.stop_price,
                real.limit_price,
            )
            assert simulated.status is real.status  # FILLED take-profit, CANCELED stop
        statuses = sorted(engine.order(c.order_id).status.value for c in children)
        assert statuses == ["CANCELED", "FILLED"]
