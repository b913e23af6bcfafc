"""The public API is pinned: adding or removing a name is a decision, not an accident."""

from __future__ import annotations

import ordergate

EXPECTED = {
    "BrokerAccount", "BrokerAdapter", "BrokerOrder", "BrokerPosition", "BrokerRejected",
    "BrokerTimeout", "BrokerUnavailable", "EngineConfig", "ErrorCode", "Execution",
    "ExecutionEngine", "ExecutionReport", "Fill", "IdempotencyConflict", "InvalidIntent",
    "Mark", "Order", "OrderGateError", "OrderIntent", "OrderNotCancelable", "OrderNotFound",
    "OrderRequest", "OrderStatus", "OrderType", "PaperBroker", "PersistenceError",
    "PnlSummary", "Position", "SequentialIds", "Settings", "Side", "SimulatedClock",
    "SqliteStore", "SystemClock", "TimeInForce", "TradingMode", "__version__",
    "apply_execution_plan", "build_engine", "build_store", "load_settings",
}  # fmt: skip


def test_all_is_pinned() -> None:
    assert set(ordergate.__all__) == EXPECTED


def test_every_public_name_exists() -> None:
    for name in ordergate.__all__:
        assert getattr(ordergate, name) is not None, name


def test_the_quick_start_works(tmp_path: object) -> None:
    engine = ordergate.build_engine(ordergate.load_settings(database_url="sqlite:///:memory:"))
    engine.mark("AAPL", "150.00")
    report = engine.submit(
        {"symbol": "AAPL", "side": "buy", "qty": "100", "idempotency_key": "k-001"}
    )
    assert report.status is ordergate.OrderStatus.FILLED
    assert (
        report.avg_price
        == ordergate.OrderIntent.parse(
            {
                "symbol": "X",
                "side": "buy",
                "qty": 1,
                "key": "k",
                "type": "limit",
                "price": "150.075",
            }
        ).limit_price
    )


def test_error_codes_have_meaning_and_flag() -> None:
    for code in ordergate.ErrorCode:
        assert code.name.startswith("E_")
        assert code.meaning
        assert isinstance(code.retryable, bool)
    assert ordergate.ErrorCode.E_EXEC_BROKER_TIMEOUT.retryable
    assert not ordergate.ErrorCode.E_EXEC_IDEMPOTENCY_CONFLICT.retryable
