"""ordergate's domain: pure types and rules, no I/O."""

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce, TradingMode
from ordergate.domain.errors import ErrorCode, OrderGateError
from ordergate.domain.fills import Fill
from ordergate.domain.intent import OrderIntent
from ordergate.domain.market import Mark
from ordergate.domain.order import TRANSITIONS, Order
from ordergate.domain.positions import PnlSummary, Position
from ordergate.domain.report import ExecutionReport

__all__ = [
    "TRANSITIONS",
    "ErrorCode",
    "ExecutionReport",
    "Fill",
    "Mark",
    "Order",
    "OrderGateError",
    "OrderIntent",
    "OrderStatus",
    "OrderType",
    "PnlSummary",
    "Position",
    "Side",
    "TimeInForce",
    "TradingMode",
]
