"""Dry run (seed 003: "simulates live orders without actual placement").

Every order is gated and recorded, then filled on the paper venue against the marks —
no broker is called, the report says ``simulated``, and nothing of it reaches the real
store: its orders, positions, cash and risk counters stay as they were.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ordergate.bootstrap import build_runtime
from ordergate.config import load_settings
from ordergate.domain.enums import OrderStatus, TradingMode
from ordergate.domain.errors import ConfigError


def live_settings(tmp_path: Path, **extra: object) -> object:
    return load_settings(
        database_url=f"sqlite:///{tmp_path / 'real.db'}",
        mode=TradingMode.LIVE,
        exec_broker_adapter="exchange",  # a live broker nobody runs: it must not be called
        exchange_url="http://127.0.0.1:9",
        **extra,
    )


def test_a_dry_run_fills_on_the_paper_venue_and_says_so(tmp_path: Path) -> None:
    settings = live_settings(tmp_path, dry_run=True)
    runtime = build_runtime(settings)  # type: ignore[arg-type]
    engine = runtime.engine
    assert engine.broker.adapter_id == "paper"
    engine.mark("AAPL", "100", bid="99.99", ask="100.01")
    report = engine.submit({"idempotency_key": "d1", "symbol": "AAPL", "side": "BUY", "qty": "10"})
    assert report.status is OrderStatus.FILLED
    assert report.simulated
    assert report.to_dict()["simulated"] is True
    assert report.fills
    assert report.avg_price is not None
    # the gates ran: a kill switch in the dry run's book refuses as it would live
    assert runtime.board is not None
    runtime.board.set("GLOBAL", "", "ACTIVE", actor="test", reason="drill")
    runtime.desk.refresh()  # type: ignore[union-attr]
    refused = engine.submit({"idempotency_key": "d2", "symbol": "AAPL", "side": "BUY", "qty": "1"})
    assert refused.status is OrderStatus.REJECTED
    assert refused.error_code == "E_RISK_KILL_SWITCH"
    assert refused.simulated
    engine.store.close()

    # the real store never saw any of it
    real = tmp_path / "real.db"
    if real.exists():
        with sqlite3.connect(real) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "orders" in tables:
                assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
                assert conn.execute("SELECT count(*) FROM fills").fetchone() == (0,)
    # the dry run's own book survives a restart
    again = build_runtime(live_settings(tmp_path, dry_run=True))  # type: ignore[arg-type]
    assert again.engine.order(report.order_id).status is OrderStatus.FILLED
    [position] = again.engine.positions()
    assert position.qty == 10
    again.engine.store.close()
    # and the real engine, dry run off, has no position and its full cash
    settings_real = load_settings(database_url=f"sqlite:///{real}", mode=TradingMode.PAPER)
    live = build_runtime(settings_real)
    assert live.engine.positions() == []
    assert live.engine.cash.cash("default") == settings_real.paper_starting_cash
    live.engine.store.close()


def test_a_dry_run_on_postgresql_needs_its_own_database() -> None:
    settings = load_settings(
        database_url="postgresql://postgres@127.0.0.1:5432/test",
        mode=TradingMode.LIVE,
        dry_run=True,
    )
    with pytest.raises(ConfigError, match="dry_run_database_url"):
        build_runtime(settings)
