"""A kill switch in WARNING lets the order go, and a person sees it: the report's
``warnings``, a stored ``risk.warning`` event and a log line."""

from __future__ import annotations

import orjson
from structlog.testing import capture_logs

from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ErrorCode
from ordergate.domain.events import RISK_WARNING_TOPIC
from ordergate.engine.engine import ExecutionEngine
from ordergate.risk.desk import RiskDesk
from ordergate.store.sqlite import SqliteStore

WARNING_TEXT = "kill switch SYMBOL:AAPL is WARNING: earnings tomorrow (alice)"


def _engine(store: SqliteStore, paper: PaperBroker, clock: SimulatedClock) -> ExecutionEngine:
    desk = RiskDesk(store, clock, trading_day=lambda when: when.date().isoformat())
    engine = ExecutionEngine(store, paper, clock=clock, ids=SequentialIds(), gates=desk)
    engine.mark("AAPL", "100")
    return engine


def _intent(key: str, symbol: str = "AAPL") -> dict[str, str]:
    return {"idempotency_key": key, "symbol": symbol, "side": "BUY", "qty": "10"}


def _stored_warnings(store: SqliteStore) -> list[dict[str, object]]:
    return [
        orjson.loads(m.payload)
        for m in store.outbox_after(0, 10_000)
        if m.topic == RISK_WARNING_TOPIC
    ]


def test_warning_switch_lets_the_order_fill_and_says_so_everywhere(
    store: SqliteStore, paper: PaperBroker, clock: SimulatedClock
) -> None:
    engine = _engine(store, paper, clock)
    gates = engine.gates
    assert isinstance(gates, RiskDesk)
    gates.board.set("SYMBOL", "AAPL", "WARNING", reason="earnings tomorrow", actor="alice")
    seen: list[object] = []
    engine.subscribe("risk.*", seen.append)

    with capture_logs() as logs:
        report = engine.submit(_intent("k1"))

    assert report.status is OrderStatus.FILLED
    assert report.warnings == (WARNING_TEXT,)
    assert report.to_dict()["warnings"] == [WARNING_TEXT]
    [event] = _stored_warnings(store)
    assert event["order_id"] == report.order_id
    assert event["warnings"] == [WARNING_TEXT]
    assert len(seen) == 1  # published on the bus after the commit
    [line] = [entry for entry in logs if entry["event"] == "pre-trade warning"]
    assert line["log_level"] == "warning"
    assert line["order_id"] == report.order_id

    # the same key again: the replayed report comes from the store, no second event
    again = engine.submit(_intent("k1"))
    assert again.replayed
    assert len(_stored_warnings(store)) == 1


def test_no_warning_switch_no_warnings(
    store: SqliteStore, paper: PaperBroker, clock: SimulatedClock
) -> None:
    engine = _engine(store, paper, clock)
    gates = engine.gates
    assert isinstance(gates, RiskDesk)
    gates.board.set("SYMBOL", "AAPL", "WARNING", reason="earnings tomorrow", actor="alice")

    engine.mark("MSFT", "200")
    report = engine.submit(_intent("k1", symbol="MSFT"))  # the switch covers AAPL only

    assert report.status is OrderStatus.FILLED
    assert report.warnings == ()
    assert report.to_dict()["warnings"] == []
    assert _stored_warnings(store) == []


def test_warnings_ride_beside_a_rejection_by_another_gate(
    store: SqliteStore, paper: PaperBroker, clock: SimulatedClock
) -> None:
    engine = _engine(store, paper, clock)
    gates = engine.gates
    assert isinstance(gates, RiskDesk)
    gates.board.set("SYMBOL", "AAPL", "WARNING", reason="earnings tomorrow", actor="alice")
    gates.board.set("STRATEGY", "default", reason="paused", actor="bob")

    report = engine.submit(_intent("k1"))

    assert report.status is OrderStatus.REJECTED
    assert report.error_code == ErrorCode.E_RISK_KILL_SWITCH.name
    assert report.warnings == (WARNING_TEXT,)


def test_basket_reports_carry_their_own_warnings(
    store: SqliteStore, paper: PaperBroker, clock: SimulatedClock
) -> None:
    engine = _engine(store, paper, clock)
    engine.mark("MSFT", "200")
    gates = engine.gates
    assert isinstance(gates, RiskDesk)
    gates.board.set("SYMBOL", "AAPL", "WARNING", reason="earnings tomorrow", actor="alice")

    aapl, msft = engine.submit_many([_intent("b1"), _intent("b2", symbol="MSFT")])

    assert aapl.status is OrderStatus.FILLED
    assert msft.status is OrderStatus.FILLED
    assert aapl.warnings == (WARNING_TEXT,)
    assert msft.warnings == ()
