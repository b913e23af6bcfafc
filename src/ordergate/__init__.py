"""ordergate: intents in, orders at a broker out — exactly once, fail-closed, recorded.

The public API, pinned by ``tests/test_public_api.py``::

    from ordergate import build_engine, load_settings
    engine = build_engine(load_settings())
    engine.mark("AAPL", "150.00")
    report = engine.submit({"symbol": "AAPL", "side": "buy", "qty": "100",
                            "idempotency_key": "k-001"})
"""

from ordergate.bootstrap import build_engine, build_store
from ordergate.brokers.base import (
    BrokerAccount,
    BrokerAdapter,
    BrokerOrder,
    BrokerPosition,
    Execution,
    OrderRequest,
)
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock, SystemClock
from ordergate.config import Settings, load_settings
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce, TradingMode
from ordergate.domain.errors import (
    BrokerRejected,
    BrokerTimeout,
    BrokerUnavailable,
    ErrorCode,
    IdempotencyConflict,
    InvalidIntent,
    OrderGateError,
    OrderNotCancelable,
    OrderNotFound,
    PersistenceError,
)
from ordergate.domain.fills import Fill
from ordergate.domain.intent import OrderIntent
from ordergate.domain.market import Mark
from ordergate.domain.order import Order
from ordergate.domain.positions import PnlSummary, Position
from ordergate.domain.report import ExecutionReport
from ordergate.engine.engine import EngineConfig, ExecutionEngine
from ordergate.engine.plan import apply_execution_plan
from ordergate.store.sqlite import SqliteStore

__version__ = "0.1.0"

__all__ = [
    "BrokerAccount",
    "BrokerAdapter",
    "BrokerOrder",
    "BrokerPosition",
    "BrokerRejected",
    "BrokerTimeout",
    "BrokerUnavailable",
    "EngineConfig",
    "ErrorCode",
    "Execution",
    "ExecutionEngine",
    "ExecutionReport",
    "Fill",
    "IdempotencyConflict",
    "InvalidIntent",
    "Mark",
    "Order",
    "OrderGateError",
    "OrderIntent",
    "OrderNotCancelable",
    "OrderNotFound",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "PaperBroker",
    "PersistenceError",
    "PnlSummary",
    "Position",
    "SequentialIds",
    "Settings",
    "Side",
    "SimulatedClock",
    "SqliteStore",
    "SystemClock",
    "TimeInForce",
    "TradingMode",
    "__version__",
    "apply_execution_plan",
    "build_engine",
    "build_store",
    "load_settings",
]
