"""A mark's sequence number (issue 24, the bus in): the engine applies a bus mark only
over an older one, in memory and in the store, and after a restart as before."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ordergate.brokers.paper import PaperBroker
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.sqlite import SqliteStore


def engine_on(path: Path) -> ExecutionEngine:
    store = SqliteStore(str(path))
    store.migrate()
    return ExecutionEngine(store, PaperBroker())


def test_an_older_mark_changes_nothing_here_in_the_store_or_after_a_restart(
    tmp_path: Path,
) -> None:
    db = tmp_path / "og.db"
    engine = engine_on(db)
    assert engine.mark("AAPL", "150", seq=10).seq == 10
    in_effect = engine.mark("AAPL", "140", seq=9)  # a late copy
    assert (in_effect.last, in_effect.seq) == (Decimal(150), 10)
    assert engine.marks()["AAPL"].last == Decimal(150)
    assert engine.mark("AAPL", "151", seq=11).last == Decimal(151)
    local = engine.mark("AAPL", "152")  # ordergate mark: in effect, the number kept
    assert (local.last, local.seq) == (Decimal(152), 11)
    assert engine.mark("AAPL", "141", seq=11).last == Decimal(152)
    engine.store.close()

    again = engine_on(db)  # a restarted process knows the number in effect
    assert again.marks()["AAPL"].seq == 11
    assert again.mark("AAPL", "139", seq=8).last == Decimal(152)
    assert again.store.marks()["AAPL"].last == Decimal(152)
    assert again.mark("AAPL", "153", seq=12).last == Decimal(153)
    assert again.store.marks()["AAPL"].last == Decimal(153)
    again.store.close()


def test_a_slower_process_does_not_take_the_shared_store_back(tmp_path: Path) -> None:
    """Two processes on one database each apply every mark; one that is behind writes
    an older mark after the other wrote a newer one: the store keeps the newer."""
    db = tmp_path / "og.db"
    fast, slow = engine_on(db), engine_on(db)
    fast.mark("MSFT", "250", seq=3)
    slow.mark("MSFT", "249", seq=2)  # slow had not seen seq 3 yet: its memory moves on
    assert slow.marks()["MSFT"].last == Decimal(249)
    assert fast.store.marks()["MSFT"].last == Decimal(250)  # the store does not go back
    for engine in (fast, slow):
        engine.store.close()
