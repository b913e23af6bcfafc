"""Shadow state never touches the real book, and the real engine never waits for it."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from ordergate.bootstrap import build_runtime
from ordergate.clock import SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.shadow.links import ShadowLinks
from ordergate.shadow.twin import Mirror

from .kit import buy, sell, settings_in, shadowed


def trade(engine: Any) -> None:
    engine.mark("AAPL", "100", volume="100000")
    engine.submit(buy("i1", qty="100", sl_offset_pct="-0.02", tp_offset_pct="0.03"))
    engine.submit(buy("i2", qty="7", order_type="LIMIT", limit_price="99"))
    engine.mark("AAPL", "98.5", volume="100000")
    engine.submit(sell("i3", qty="40"))
    engine.mark("AAPL", "104", volume="100000")


def book(runtime: Any) -> dict[str, Any]:
    engine = runtime.engine
    store = engine.store
    return {
        "positions": [
            (p.symbol, p.qty, p.avg_price, p.realized_pnl, p.commission) for p in engine.positions()
        ],
        "cash": engine.cash.cash("default"),
        "fills": sorted(
            (f.symbol, f.realized_gross, f.commission, f.trading_day)
            for f in store.fills_since("2026-01-01")
        ),
        "daily_pnl": [
            (d.trading_day, d.strategy_id, d.realized_gross, d.commission, d.fills)
            for d in store.daily_pnl()
        ],
        "kill_switches": store.kill_switches(),
        "controls": store.trading_controls(),
    }


def test_no_shadow_row_in_real_positions_cash_risk_state_or_events(tmp_path: Path) -> None:
    topics: list[str] = []
    twin_topics: list[str] = []
    with shadowed(tmp_path / "a", clock=SimulatedClock()) as s:
        s.engine.subscribe("*", lambda e: topics.append(e.topic))
        s.shadow.twin.engine.subscribe("*", lambda e: twin_topics.append(e.topic))
        trade(s.engine)
        assert s.shadow.drain()
        with_shadow = book(s.runtime)
        twin_positions = s.shadow.twin.engine.positions()
    (tmp_path / "b").mkdir()
    plain = build_runtime(settings_in(tmp_path / "b", shadow=False), clock=SimulatedClock())
    plain_topics: list[str] = []
    plain.engine.subscribe("*", lambda e: plain_topics.append(e.topic))
    trade(plain.engine)
    without = book(plain)
    plain.engine.store.close()

    assert with_shadow == without  # positions, cash, fills, daily P&L, risk state
    assert topics == plain_topics  # the real bus carried exactly what it carries alone
    assert not [t for t in topics if "shadow" in t]
    # the twin did simulate all of it, on its own bus, under its own prefix
    assert twin_positions
    assert twin_topics
    assert all(t.startswith("ordergate.shadow.") for t in twin_topics)
    with sqlite3.connect(tmp_path / "a" / "real.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert not [t for t in tables if t.startswith("shadow")]
        stored = {r[0] for r in conn.execute("SELECT topic FROM order_events")}
        assert not [t for t in stored if "shadow" in t]
        intents = [r[0] for r in conn.execute("SELECT idempotency_key FROM intents")]
        assert sorted(intents) == sorted(k for k in intents if not k.startswith("ord_"))
    with sqlite3.connect(tmp_path / "a" / "real.shadow.db") as conn:
        assert conn.execute("SELECT count(*) FROM shadow_orders").fetchone()[0] == 5


def test_a_stuck_twin_never_holds_a_live_order_and_drops_are_counted(tmp_path: Path) -> None:
    release = threading.Event()
    with shadowed(tmp_path, queue_size=2) as s:
        s.engine.mark("AAPL", "100", volume="100000")
        assert s.shadow.drain()
        s.shadow.worker.offer(lambda _: release.wait(30), None)  # the twin hangs
        reports = [s.engine.submit(buy(f"k{i}", qty=str(i + 1))) for i in range(6)]
        assert [r.status for r in reports] == [OrderStatus.FILLED] * 6  # none waited
        dropped = s.shadow.stats()["dropped"]
        assert dropped >= 3  # at most two of the six (and the one in hand) got in
        release.set()
        assert s.shadow.drain()
        links = s.shadow.twin.links
        assert len(links.links()) == 6 - dropped
        s.shadow.close()  # the count is written by the worker: read it back after a restart
    again = ShadowLinks(str(tmp_path / "real.shadow.db"))
    assert again.counter("dropped") == dropped
    again.close()


def test_a_failing_event_is_counted_and_the_twin_goes_on(tmp_path: Path) -> None:
    with shadowed(tmp_path) as s:
        s.engine.mark("AAPL", "100")
        mirror = Mirror(s.shadow.twin)
        s.shadow.worker.offer(mirror.order_went_out, {"order_id": "x", "ts": "not a time"})
        s.engine.submit(buy("ok"))
        assert s.shadow.drain()
        assert s.shadow.stats()["failed"] >= 1
        assert len(s.shadow.twin.links.links()) == 1
