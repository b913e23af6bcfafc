"""ordergate: intents in, orders at a broker out — exactly once, fail-closed, recorded.

The public API, pinned by ``tests/test_public_api.py``::

    from ordergate import build_engine, load_settings
    engine = build_engine(load_settings())
    engine.mark("AAPL", "150.00")
    report = engine.submit({"symbol": "AAPL", "side": "buy", "qty": "100",
                            "idempotency_key": "k-001"})
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ordergate import _codecache, _lean

_lean.install()  # structlog, when first imported, without Twisted and rich: see _lean.py
_codecache.install()  # generated dataclass methods compiled once, kept: see _codecache.py

if TYPE_CHECKING:
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

#: Where each public name lives; imported on first use so that ``import ordergate``
#: (or a module deep inside it) costs nothing it does not need.
_EXPORTS = {
    "BrokerAccount": "ordergate.brokers.base",
    "BrokerAdapter": "ordergate.brokers.base",
    "BrokerOrder": "ordergate.brokers.base",
    "BrokerPosition": "ordergate.brokers.base",
    "BrokerRejected": "ordergate.domain.errors",
    "BrokerTimeout": "ordergate.domain.errors",
    "BrokerUnavailable": "ordergate.domain.errors",
    "EngineConfig": "ordergate.engine.engine",
    "ErrorCode": "ordergate.domain.errors",
    "Execution": "ordergate.brokers.base",
    "ExecutionEngine": "ordergate.engine.engine",
    "ExecutionReport": "ordergate.domain.report",
    "Fill": "ordergate.domain.fills",
    "IdempotencyConflict": "ordergate.domain.errors",
    "InvalidIntent": "ordergate.domain.errors",
    "Mark": "ordergate.domain.market",
    "Order": "ordergate.domain.order",
    "OrderGateError": "ordergate.domain.errors",
    "OrderIntent": "ordergate.domain.intent",
    "OrderNotCancelable": "ordergate.domain.errors",
    "OrderNotFound": "ordergate.domain.errors",
    "OrderRequest": "ordergate.brokers.base",
    "OrderStatus": "ordergate.domain.enums",
    "OrderType": "ordergate.domain.enums",
    "PaperBroker": "ordergate.brokers.paper",
    "PersistenceError": "ordergate.domain.errors",
    "PnlSummary": "ordergate.domain.positions",
    "Position": "ordergate.domain.positions",
    "SequentialIds": "ordergate.clock",
    "Settings": "ordergate.config",
    "Side": "ordergate.domain.enums",
    "SimulatedClock": "ordergate.clock",
    "SqliteStore": "ordergate.store.sqlite",
    "SystemClock": "ordergate.clock",
    "TimeInForce": "ordergate.domain.enums",
    "TradingMode": "ordergate.domain.enums",
    "apply_execution_plan": "ordergate.engine.plan",
    "build_engine": "ordergate.bootstrap",
    "build_store": "ordergate.bootstrap",
    "load_settings": "ordergate.config",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ordergate' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


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
