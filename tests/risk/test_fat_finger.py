"""A fat finger never fills out of the box (issue 20, item 4): a maximum order quantity
(1,000,000) and a maximum notional per order (25 % of the account's equity) by default,
each turned off with ``null`` in the ``risk:`` block."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from tests.risk.conftest import ContextFactory, IntentFactory

from ordergate.bootstrap import build_engine
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.config import load_settings
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ErrorCode
from ordergate.engine.engine import ExecutionEngine
from ordergate.risk.config import RiskConfig
from ordergate.risk.desk import RiskDesk
from ordergate.risk.limits import InstrumentSpec, MaxNotionalGate, MaxQtyGate
from ordergate.store.sqlite import SqliteStore

FAT = "999999999999999.9"


def test_the_documented_defaults() -> None:
    spec = RiskConfig().limits.spec("ANY")
    assert spec.max_qty == Decimal(1_000_000)
    assert spec.max_notional_equity_pct == Decimal("0.25")
    assert spec.max_notional is None
    assert InstrumentSpec(tick_size=Decimal("0.01")).max_qty == Decimal(1_000_000)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[ExecutionEngine]:
    """The engine exactly as ``ordergate`` builds it, on the default settings."""
    built = build_engine(
        load_settings(database_url=f"sqlite:///{tmp_path / 'og.db'}"),
        clock=SimulatedClock(),
        ids=SequentialIds(),
    )
    yield built
    built.store.close()


def test_a_fat_finger_market_buy_is_refused_on_the_defaults(engine: ExecutionEngine) -> None:
    engine.mark("AAPL", "150.00")
    report = engine.submit(
        {"idempotency_key": "fat", "symbol": "AAPL", "side": "buy", "qty": FAT,
         "order_type": "market"}
    )  # fmt: skip
    assert report.status is OrderStatus.REJECTED
    assert report.error_code == ErrorCode.E_RISK_MAX_QTY.name
    assert report.error_message == f"E_RISK_MAX_QTY: qty={FAT} max=1000000"
    assert report.filled_qty == 0
    assert engine.positions() == []


def test_max_qty_default(make_intent: IntentFactory, make_context: ContextFactory) -> None:
    gate = MaxQtyGate(RiskConfig().limits)
    assert gate.check(make_intent(qty="1000000"), make_context()) is None
    rejection = gate.check(make_intent(qty="1000000.5"), make_context())
    assert rejection is not None
    assert rejection.code is ErrorCode.E_RISK_MAX_QTY


def _equity(value: str | None) -> MaxNotionalGate:
    figure = None if value is None else Decimal(value)
    return MaxNotionalGate(RiskConfig().limits, lambda account: figure)


def test_notional_default_is_a_quarter_of_the_equity(
    make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    gate = _equity("100000")
    assert gate.check(make_intent(qty="166"), make_context(last="150")) is None  # 24,900
    rejection = gate.check(make_intent(qty="167"), make_context(last="150"))  # 25,050
    assert rejection is not None
    assert rejection.code is ErrorCode.E_RISK_MAX_NOTIONAL
    assert rejection.message == (
        "E_RISK_MAX_NOTIONAL: notional=25050 max=25000.00 equity=100000 "
        "max_equity_pct=0.25 price=150"
    )


def test_unknown_equity_fails_closed_but_reducing_passes(
    make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    gate = _equity(None)
    rejection = gate.check(make_intent(qty="1"), make_context())
    assert rejection is not None
    assert rejection.code is ErrorCode.E_RISK_MAX_NOTIONAL
    assert "equity=unknown" in rejection.message
    # closing a long of 500 is bounded by the position: no equity needed
    assert gate.check(make_intent(side="SELL", qty="500"), make_context(position="500")) is None


def test_the_desk_takes_its_equity_from_the_source_it_is_given(
    store: SqliteStore,
    clock: SimulatedClock,
    make_intent: IntentFactory,
    make_context: ContextFactory,
) -> None:
    equities = {"default": Decimal(40_000)}
    desk = RiskDesk(store, clock, trading_day=lambda when: when.date().isoformat(),
                    equity=equities.get)  # fmt: skip
    assert desk.check(make_intent(qty="60"), make_context(last="150")) is None  # 9,000
    rejection = desk.check(make_intent(qty="70"), make_context(last="150"))  # 10,500
    assert rejection is not None
    assert rejection.code is ErrorCode.E_RISK_MAX_NOTIONAL
    other = desk.check(make_intent(qty="1", account_id="acct-2"), make_context())
    assert other is not None
    assert "equity=unknown" in other.message


def test_both_defaults_turned_off_in_the_risk_block(
    store: SqliteStore,
    clock: SimulatedClock,
    make_intent: IntentFactory,
    make_context: ContextFactory,
) -> None:
    settings = load_settings(
        risk={"limits": {"default": {"max_qty": None, "max_notional_equity_pct": None}},
              "duplicate_window_ms": None}
    )  # fmt: skip
    config = RiskConfig.from_mapping(settings.risk_mapping())
    spec = config.limits.spec("AAPL")
    assert spec.max_qty is None
    assert spec.max_notional_equity_pct is None
    desk = RiskDesk(store, clock, config, trading_day=lambda when: when.date().isoformat(),
                    equity=lambda account: Decimal(1000))  # fmt: skip
    assert desk.check(make_intent(qty=FAT), make_context(last="150")) is None


def test_each_default_turned_off_alone(
    make_intent: IntentFactory, make_context: ContextFactory
) -> None:
    no_qty = RiskConfig.from_mapping({"limits": {"default": {"max_qty": None}}}).limits
    assert MaxQtyGate(no_qty).check(make_intent(qty=FAT), make_context()) is None
    still = MaxNotionalGate(no_qty, lambda account: Decimal(1000)).check(
        make_intent(qty=FAT), make_context()
    )
    assert still is not None  # the notional default still stands
    assert still.code is ErrorCode.E_RISK_MAX_NOTIONAL

    no_share = RiskConfig.from_mapping(
        {"limits": {"default": {"max_notional_equity_pct": None}}}
    ).limits
    gate = MaxNotionalGate(no_share, lambda account: Decimal(1000))
    assert gate.check(make_intent(qty="999999"), make_context()) is None
    qty_rejection = MaxQtyGate(no_share).check(make_intent(qty=FAT), make_context())
    assert qty_rejection is not None  # the quantity default still stands


def test_a_listed_instrument_keeps_the_defaults_unless_it_says_otherwise() -> None:
    limits = RiskConfig.from_mapping(
        {
            "limits": {
                "instruments": {"BTCUSD": {"max_qty": "5000000"}, "AAPL": {"tick_size": "0.01"}}
            }
        }
    ).limits
    assert limits.spec("BTCUSD").max_qty == Decimal(5_000_000)
    assert limits.spec("AAPL").max_qty == Decimal(1_000_000)
    assert limits.spec("AAPL").max_notional_equity_pct == Decimal("0.25")


def test_a_bad_percentage_is_a_config_error() -> None:
    from ordergate.domain.errors import ConfigError

    with pytest.raises(ConfigError, match="max_notional_equity_pct"):
        RiskConfig.from_mapping({"limits": {"default": {"max_notional_equity_pct": "0"}}})
