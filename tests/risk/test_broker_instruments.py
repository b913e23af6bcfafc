"""Tick and lot from the broker where the limits describe no instrument: the desk's
gates use them, a configured instrument wins, and a broker that cannot answer is not
asked again on every order."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ordergate.bootstrap import build_runtime
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.config import load_settings
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ErrorCode
from ordergate.risk.broker_instruments import InstrumentSizes
from ordergate.risk.config import RiskConfig

D = Decimal


class KnowingBroker(PaperBroker):
    """A simulated broker that knows its instruments, as IB does from contract details."""

    def __init__(self, clock: SimulatedClock, answers: bool = True) -> None:
        super().__init__(clock=clock)
        self.sim_clock = clock
        self.answers = answers
        self.asked: list[str] = []

    def tick_size(self, symbol: str) -> Decimal | None:
        self.asked.append(symbol)
        return D("0.25") if self.answers else None

    def lot_size(self, symbol: str) -> Decimal | None:
        return D(10) if self.answers else None


def runtime(tmp_path: Path, broker: KnowingBroker, risk: RiskConfig | None = None) -> object:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'og.db'}")
    return build_runtime(
        settings, broker=broker, clock=broker.sim_clock, ids=SequentialIds(), risk=risk
    )


def intent(key: str, qty: str = "10", limit: str = "100.25") -> dict[str, str]:
    return {"idempotency_key": key, "symbol": "ES", "side": "BUY", "qty": qty,
            "order_type": "LIMIT", "limit_price": limit}  # fmt: skip


def test_the_brokers_tick_and_lot_feed_the_gates(tmp_path: Path) -> None:
    clock = SimulatedClock()
    broker = KnowingBroker(clock)
    assert isinstance(broker, InstrumentSizes)
    engine = runtime(tmp_path, broker).engine  # type: ignore[attr-defined]
    engine.mark("ES", "100")
    off_tick = engine.submit(intent("t1", limit="100.1"))
    assert off_tick.status is OrderStatus.REJECTED
    assert off_tick.error_code == ErrorCode.E_RISK_TICK_SIZE.name
    off_lot = engine.submit(intent("t2", qty="5"))
    assert off_lot.error_code == ErrorCode.E_RISK_LOT_SIZE.name
    assert engine.submit(intent("t3")).status is not OrderStatus.REJECTED
    assert broker.asked == ["ES"], "asked once, then kept"


def test_a_configured_instrument_wins(tmp_path: Path) -> None:
    clock = SimulatedClock()
    broker = KnowingBroker(clock)
    risk = RiskConfig.from_mapping({"limits": {"instruments": {"ES": {"tick_size": "0.1"}}}})
    engine = runtime(tmp_path, broker, risk).engine  # type: ignore[attr-defined]
    engine.mark("ES", "100")
    assert engine.submit(intent("c1", qty="5", limit="100.1")).status is not OrderStatus.REJECTED
    assert broker.asked == []


def test_a_broker_that_cannot_answer_is_not_asked_on_every_order(tmp_path: Path) -> None:
    clock = SimulatedClock()
    broker = KnowingBroker(clock, answers=False)
    engine = runtime(tmp_path, broker).engine  # type: ignore[attr-defined]
    engine.mark("ES", "100")
    for n in range(1, 4):  # off any tick of 0.25 (each its own, or the duplicate guard says no)
        report = engine.submit(intent(f"n{n}", qty=str(10 * n), limit=f"100.{n}"))
        assert report.status is not OrderStatus.REJECTED
    assert broker.asked == ["ES"]
