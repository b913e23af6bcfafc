"""Our requests as FIX 4.4 messages, and the counterparty's answers as :class:`Report`.

No state and no I/O: the session sends what these build, and hands what it receives to
:func:`parse_report`. Quantities and prices cross as text: ``format(Decimal, "f")`` out,
``Decimal(text)`` in, so nothing is ever a float (QuickFIX's Python binding takes a
field's value as a string).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import quickfix as fix

from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import ErrorCode, InvalidIntent
from ordergate.domain.money import fmt
from ordergate.domain.wire import OrderRequest

BEGIN_STRING = "FIX.4.4"

# tags (FIX 4.4)
ACCOUNT, AVG_PX, CL_ORD_ID, COMMISSION, CUM_QTY, EXEC_ID, LAST_PX, LAST_QTY = (
    1,
    6,
    11,
    12,
    14,
    17,
    31,
    32,
)
MSG_SEQ_NUM, ORDER_ID, ORDER_QTY, ORD_STATUS, ORD_TYPE, ORIG_CL_ORD_ID, PRICE = (
    34,
    37,
    38,
    39,
    40,
    41,
    44,
)
REF_SEQ_NUM, SIDE, SYMBOL, TEXT, TIF, TRANSACT_TIME, EXEC_REF_ID, STOP_PX = (
    45,
    54,
    55,
    58,
    59,
    60,
    19,
    99,
)
POSS_DUP, TRADE_DATE, CXL_REJ_REASON, ORD_REJ_REASON, EXPIRE_TIME = 43, 75, 102, 103, 126
CXL_REJ_RESPONSE_TO, EXEC_TYPE, LEAVES_QTY, REF_MSG_TYPE = 434, 150, 151, 372
BUSINESS_REJECT_REASON, SESSION_REJECT_REASON, REF_TAG_ID = 380, 373, 371
USERNAME, PASSWORD = 553, 554
MAX_FLOOR = 111  # the quantity shown at a time (a native iceberg)

SIDES = {Side.BUY: "1", Side.SELL: "2"}
ORD_TYPES = {
    OrderType.MARKET: "1",
    OrderType.LIMIT: "2",
    OrderType.STOP: "3",
    OrderType.STOP_LIMIT: "4",
}
TIFS = {
    TimeInForce.DAY: "0",
    TimeInForce.GTC: "1",
    TimeInForce.IOC: "3",
    TimeInForce.FOK: "4",
    TimeInForce.GTD: "6",
}
#: OrdStatus (39) onto ours; 5 Replaced and E Pending Replace keep the order working
STATUS_OF = {
    "0": OrderStatus.ACCEPTED,
    "1": OrderStatus.PARTIALLY_FILLED,
    "2": OrderStatus.FILLED,
    "3": OrderStatus.ACCEPTED,  # done for day: not final (GTC resumes)
    "4": OrderStatus.CANCELED,
    "5": OrderStatus.ACCEPTED,
    "6": OrderStatus.PENDING_CANCEL,
    "7": OrderStatus.ACCEPTED,  # stopped: still working
    "8": OrderStatus.REJECTED,
    "9": OrderStatus.ACCEPTED,  # suspended
    "A": OrderStatus.SUBMITTED,  # pending new
    "B": OrderStatus.FILLED,  # calculated
    "C": OrderStatus.EXPIRED,
    "D": OrderStatus.ACCEPTED,  # accepted for bidding
    "E": OrderStatus.ACCEPTED,  # pending replace
}
#: ExecType (150) values that carry a trade (4.4 has F; 1 and 2 are FIX 4.2's)
TRADE_EXEC_TYPES = frozenset({"F", "1", "2"})
TRADE_CANCEL, TRADE_CORRECT, ORDER_STATUS = "H", "G", "I"
#: OrdRejReason (103)
UNKNOWN_ORDER, DUPLICATE_ORDER = "5", "6"
ORD_REJ_REASONS = {
    "0": "broker option",
    "1": "unknown symbol",
    "2": "exchange closed",
    "3": "order exceeds limit",
    "4": "too late to enter",
    "5": "unknown order",
    "6": "duplicate order",
    "11": "unsupported order characteristic",
    "13": "incorrect quantity",
    "15": "unknown account",
    "99": "other",
}
CXL_REJ_REASONS = {
    "0": "too late to cancel",
    "1": "unknown order",
    "2": "broker option",
    "3": "order already pending cancel or replace",
    "6": "duplicate ClOrdID",
    "99": "other",
}
BUSINESS_REJECT_REASONS = {
    "0": "other",
    "1": "unknown ID",
    "2": "unknown security",
    "3": "unsupported message type",
    "4": "application not available",
    "5": "conditionally required field missing",
    "6": "not authorized",
    "7": "DeliverTo firm not available",
}
SESSION_REJECT_REASONS = {
    "0": "invalid tag number",
    "1": "required tag missing",
    "2": "tag not defined for this message type",
    "3": "undefined tag",
    "4": "tag specified without a value",
    "5": "value is incorrect (out of range) for this tag",
    "6": "incorrect data format for value",
    "9": "CompID problem",
    "10": "SendingTime accuracy problem",
    "11": "invalid MsgType",
    "13": "tag appears more than once",
    "99": "other",
}


def text(value: Decimal) -> str:
    """A Decimal as FIX text: plain notation, no exponent, no float on the way."""
    return fmt(value) or "0"


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def _message(msg_type: str) -> fix.Message:
    message = fix.Message()
    message.getHeader().setField(fix.BeginString(BEGIN_STRING))
    message.getHeader().setField(fix.MsgType(msg_type))
    return message


def new_order(
    request: OrderRequest,
    *,
    symbol: str,
    account: str,
    now: datetime,
    extra_tags: dict[int, str],
) -> fix.Message:
    """NewOrderSingle (35=D); ClOrdID is our client order id."""
    message = _message("D")
    for tag, value in extra_tags.items():
        message.setField(tag, value)
    message.setField(CL_ORD_ID, request.client_order_id)
    message.setField(ACCOUNT, account)
    message.setField(SYMBOL, symbol)
    message.setField(SIDE, SIDES[request.side])
    message.setField(TRANSACT_TIME, _timestamp(now))
    message.setField(ORDER_QTY, text(request.qty))
    message.setField(ORD_TYPE, ORD_TYPES[request.order_type])
    message.setField(TIF, TIFS[request.time_in_force])
    if request.limit_price is not None:
        message.setField(PRICE, text(request.limit_price))
    if request.stop_price is not None:
        message.setField(STOP_PX, text(request.stop_price))
    if request.expire_at is not None:
        message.setField(EXPIRE_TIME, _timestamp(request.expire_at))
    if request.display_qty is not None:
        message.setField(MAX_FLOOR, text(request.display_qty))
    return message


@dataclass(frozen=True, slots=True, kw_only=True)
class Terms:
    """What a replace or a cancel must repeat of the order (FIX asks for it again)."""

    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType
    time_in_force: TimeInForce
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None


def cancel(
    cl_ord_id: str, orig_cl_ord_id: str, order_id: str, terms: Terms, symbol: str, now: datetime
) -> fix.Message:
    """OrderCancelRequest (35=F): a new ClOrdID, the chain's current one as 41."""
    message = _message("F")
    message.setField(CL_ORD_ID, cl_ord_id)
    message.setField(ORIG_CL_ORD_ID, orig_cl_ord_id)
    if order_id:
        message.setField(ORDER_ID, order_id)
    message.setField(SYMBOL, symbol)
    message.setField(SIDE, SIDES[terms.side])
    message.setField(TRANSACT_TIME, _timestamp(now))
    message.setField(ORDER_QTY, text(terms.qty))
    return message


def replace(
    cl_ord_id: str,
    orig_cl_ord_id: str,
    order_id: str,
    terms: Terms,
    symbol: str,
    account: str,
    now: datetime,
) -> fix.Message:
    """OrderCancelReplaceRequest (35=G) carrying the order's new terms, whole."""
    message = _message("G")
    message.setField(CL_ORD_ID, cl_ord_id)
    message.setField(ORIG_CL_ORD_ID, orig_cl_ord_id)
    if order_id:
        message.setField(ORDER_ID, order_id)
    message.setField(ACCOUNT, account)
    message.setField(SYMBOL, symbol)
    message.setField(SIDE, SIDES[terms.side])
    message.setField(TRANSACT_TIME, _timestamp(now))
    message.setField(ORDER_QTY, text(terms.qty))
    message.setField(ORD_TYPE, ORD_TYPES[terms.order_type])
    message.setField(TIF, TIFS[terms.time_in_force])
    if terms.limit_price is not None:
        message.setField(PRICE, text(terms.limit_price))
    if terms.stop_price is not None:
        message.setField(STOP_PX, text(terms.stop_price))
    return message


def status_request(cl_ord_id: str, order_id: str, symbol: str, side: Side) -> fix.Message:
    """OrderStatusRequest (35=H) by ClOrdID (and OrderID where we know it)."""
    message = _message("H")
    message.setField(CL_ORD_ID, cl_ord_id)
    if order_id:
        message.setField(ORDER_ID, order_id)
    message.setField(SYMBOL, symbol)
    message.setField(SIDE, SIDES[side])
    return message


# ------------------------------------------------------------------ answers


def field(message: fix.Message, tag: int) -> str | None:
    return str(message.getField(tag)) if message.isSetField(tag) else None


def header(message: fix.Message, tag: int) -> str | None:
    head = message.getHeader()
    return str(head.getField(tag)) if head.isSetField(tag) else None


def msg_type(message: fix.Message) -> str:
    return header(message, 35) or ""


def _decimal(value: str | None) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


_SIDE_OF = {v: k for k, v in SIDES.items()}
_TYPE_OF = {v: k for k, v in ORD_TYPES.items()}
_TIF_OF = {v: k for k, v in TIFS.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """One ExecutionReport (35=8), as text and Decimals; nothing decided yet."""

    cl_ord_id: str
    orig_cl_ord_id: str | None
    order_id: str
    exec_id: str
    exec_type: str
    ord_status: str
    symbol: str
    side: Side | None
    order_qty: Decimal | None
    order_type: OrderType | None
    time_in_force: TimeInForce | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    last_qty: Decimal
    last_px: Decimal
    cum_qty: Decimal
    avg_px: Decimal | None
    commission: Decimal
    trade_date: str
    transact_time: str
    text: str
    ord_rej_reason: str | None
    exec_ref_id: str | None
    poss_dup: bool
    seq: int

    @property
    def is_trade(self) -> bool:
        """Only trade-bearing reports are fills (ExecID is 0 on status answers)."""
        return self.exec_type in TRADE_EXEC_TYPES and self.last_qty > 0

    @property
    def status(self) -> OrderStatus:
        return STATUS_OF.get(self.ord_status, OrderStatus.ACCEPTED)

    @property
    def reason(self) -> str:
        words = ORD_REJ_REASONS.get(self.ord_rej_reason or "", "")
        if self.text and words:
            return f"{self.text} (OrdRejReason {self.ord_rej_reason}: {words})"
        return self.text or words

    def trade_day(self) -> str:
        """The trading day ExecIDs are unique within: TradeDate, else TransactTime's."""
        return self.trade_date or self.transact_time[:8]

    def to_raw(self) -> dict[str, Any]:
        """The receipt we keep: the report's business fields (no account, no session)."""
        return {
            "msg_type": "8",
            "cl_ord_id": self.cl_ord_id,
            "orig_cl_ord_id": self.orig_cl_ord_id,
            "order_id": self.order_id,
            "exec_id": self.exec_id,
            "exec_type": self.exec_type,
            "ord_status": self.ord_status,
            "cum_qty": text(self.cum_qty),
            "avg_px": None if self.avg_px is None else text(self.avg_px),
            "text": self.text,
        }


def parse_report(message: fix.Message) -> Report:
    """An ExecutionReport's fields (unknown codes are kept as the counterparty sent them)."""

    def get(tag: int) -> str | None:
        return field(message, tag)

    side, kind, tif = get(SIDE), get(ORD_TYPE), get(TIF)
    seq = header(message, MSG_SEQ_NUM)
    return Report(
        cl_ord_id=get(CL_ORD_ID) or "",
        orig_cl_ord_id=get(ORIG_CL_ORD_ID),
        order_id=get(ORDER_ID) or "",
        exec_id=get(EXEC_ID) or "",
        exec_type=get(EXEC_TYPE) or "",
        ord_status=get(ORD_STATUS) or "",
        symbol=get(SYMBOL) or "",
        side=_SIDE_OF.get(side or ""),
        order_qty=_decimal(get(ORDER_QTY)),
        order_type=_TYPE_OF.get(kind or ""),
        time_in_force=_TIF_OF.get(tif or "0"),
        limit_price=_decimal(get(PRICE)),
        stop_price=_decimal(get(STOP_PX)),
        last_qty=_decimal(get(LAST_QTY)) or Decimal(0),
        last_px=_decimal(get(LAST_PX)) or Decimal(0),
        cum_qty=_decimal(get(CUM_QTY)) or Decimal(0),
        avg_px=_decimal(get(AVG_PX)),
        commission=_decimal(get(COMMISSION)) or Decimal(0),
        trade_date=get(TRADE_DATE) or "",
        transact_time=get(TRANSACT_TIME) or "",
        text=get(TEXT) or "",
        ord_rej_reason=get(ORD_REJ_REASON),
        exec_ref_id=get(EXEC_REF_ID),
        poss_dup=header(message, POSS_DUP) == "Y",
        seq=int(seq) if seq and seq.isdigit() else 0,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelReject:
    """OrderCancelReject (35=9): the cancel or replace was refused; the order lives on."""

    cl_ord_id: str
    orig_cl_ord_id: str
    order_id: str
    ord_status: str
    response_to: str  # 1 cancel, 2 replace
    reason: str


def parse_cancel_reject(message: fix.Message) -> CancelReject:
    code = field(message, CXL_REJ_REASON) or ""
    words = CXL_REJ_REASONS.get(code, "")
    said = field(message, TEXT) or ""
    return CancelReject(
        cl_ord_id=field(message, CL_ORD_ID) or "",
        orig_cl_ord_id=field(message, ORIG_CL_ORD_ID) or "",
        order_id=field(message, ORDER_ID) or "",
        ord_status=field(message, ORD_STATUS) or "",
        response_to=field(message, CXL_REJ_RESPONSE_TO) or "",
        reason=f"{said} (CxlRejReason {code}: {words})" if said and words else said or words,
    )


def reject_reason(message: fix.Message) -> tuple[int, str]:
    """A session Reject (35=3) or a BusinessMessageReject (35=j): the seq number of the
    message refused (RefSeqNum), and the reason in words."""
    kind = msg_type(message)
    ref = field(message, REF_SEQ_NUM) or "0"
    said = field(message, TEXT) or ""
    if kind == "j":
        code = field(message, BUSINESS_REJECT_REASON) or ""
        words = BUSINESS_REJECT_REASONS.get(code, code)
        what = f"business reject ({words})"
    else:
        code = field(message, SESSION_REJECT_REASON) or ""
        words = SESSION_REJECT_REASONS.get(code, code)
        tag = field(message, REF_TAG_ID)
        what = f"session reject ({words}{f', tag {tag}' if tag else ''})"
    return int(ref) if ref.isdigit() else 0, f"{what}: {said}" if said else what


def check_decimal(name: str, value: Decimal | None) -> None:
    """FIX carries decimal text: refuse what has no plain finite form, before sending."""
    if value is not None and (not value.is_finite() or value <= 0):
        raise InvalidIntent(
            name, f"{value} cannot be sent over FIX", code=ErrorCode.E_INTENT_INVALID
        )
