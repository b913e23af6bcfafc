"""The TWS API socket messages the fake sends, field by field (server version 178).

Each function returns the fields of one message in the order ``ib_async``'s
``decoder.py`` (2.1.0) reads them; ``frame`` prefixes the length. Unused fields are
empty strings, which the decoder reads as "unset"; counts (legs, parameters,
conditions) are ``0``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from decimal import Decimal

SERVER_VERSION = 178


def frame(fields: list[object]) -> bytes:
    body = "".join(f"{_text(f)}\0" for f in fields).encode()
    return struct.pack(">I", len(body)) + body


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def split(payload: bytes) -> list[str]:
    fields = payload.decode(errors="backslashreplace").split("\0")
    return fields[:-1] if fields and fields[-1] == "" else fields


@dataclass(frozen=True, slots=True)
class FakeContract:
    con_id: int
    symbol: str
    sec_type: str = "STK"
    exchange: str = "SMART"
    currency: str = "USD"
    min_tick: Decimal = Decimal("0.01")
    multiplier: str = ""
    expiry: str = ""

    def short(self) -> list[object]:
        """conId .. tradingClass as openOrder, execDetails and position carry them."""
        return [
            self.con_id,
            self.symbol,
            self.sec_type,
            self.expiry,
            "",  # strike
            "",  # right
            self.multiplier,
            self.exchange,
            self.currency,
            self.symbol,  # localSymbol
            self.symbol,  # tradingClass
        ]


def order_status(
    order_id: int,
    status: str,
    filled: Decimal,
    remaining: Decimal,
    avg: Decimal,
    perm_id: int,
    parent_id: int,
    last: Decimal,
    client_id: int,
) -> list[object]:
    return [
        3,
        order_id,
        status,
        filled,
        remaining,
        avg,
        perm_id,
        parent_id,
        last,
        client_id,
        "",
        "",
    ]


@dataclass(slots=True)
class OrderView:
    """What openOrder and completedOrder say about one order."""

    order_id: int
    client_id: int
    perm_id: int
    contract: FakeContract
    action: str
    qty: Decimal
    order_type: str
    lmt: Decimal | None
    aux: Decimal | None
    tif: str
    oca_group: str
    account: str
    order_ref: str
    parent_id: int
    status: str
    filled: Decimal
    oca_type: int = 0
    #: placeOrder's displaySize (0: all of it shown)
    display_size: int = 0


def open_order(v: OrderView) -> list[object]:
    c = v.contract
    fields: list[object] = [5, v.order_id, *c.short()]
    fields += [v.action, v.qty, v.order_type, v.lmt, v.aux, v.tif, v.oca_group, v.account]
    fields += ["", 0, v.order_ref, v.client_id, v.perm_id, 0, 0, "", "", "", "", "", ""]
    # modelCode .. deltaNeutralAuxPrice (29 fields); parentId is the 24th, ocaType the 20th
    tail: list[object] = [""] * 29
    tail[19] = v.oca_type or ""
    tail[23] = v.parent_id
    tail[27] = ""  # deltaNeutralOrderType: none, so no delta-neutral block follows
    fields += tail
    fields += ["", "", "", "", "", "", ""]  # continuousUpdate .. comboLegsDescrip
    fields += [0, 0, 0]  # combo legs, order combo legs, smart routing params
    fields += ["", "", ""]  # scale init, subs, increment (unset: no scale block)
    fields += [""]  # hedgeType
    fields += [0, "", "", 0, 0]  # optOutSmartRouting, clearing, clearing, notHeld, dnc
    fields += [""]  # algoStrategy
    fields += [0, 0, v.status]  # solicited, whatIf, status
    fields += [""] * 9  # margins before/change/after
    fields += ["", "", "", "", ""]  # commission, min, max, currency, warningText
    fields += [0, 0]  # randomizeSize, randomizePrice
    fields += [0]  # conditions
    fields += [""] * 16  # adjustedOrderType .. usePriceMgmtAlgo
    fields += ["", "", ""]  # duration, postToAts, autoCancelParent
    fields += ["", "", "", "", ""]  # minTradeQty .. midOffsetAtHalf
    return fields


def completed_order(v: OrderView, completed_time: str) -> list[object]:
    c = v.contract
    fields: list[object] = [101, *c.short()]
    fields += [v.action, v.qty, v.order_type, v.lmt, v.aux, v.tif, v.oca_group, v.account]
    fields += ["", 0, v.order_ref, v.perm_id, 0, 0, "", "", "", "", ""]
    # modelCode .. deltaNeutralAuxPrice (23 fields)
    tail: list[object] = [""] * 23
    tail[17] = v.oca_type or ""
    fields += tail
    fields += ["", "", "", "", ""]  # continuousUpdate .. comboLegsDescrip
    fields += [0, 0, 0]
    fields += ["", "", ""]
    fields += [""]  # hedgeType
    fields += ["", "", 0, 0]  # clearingAccount, clearingIntent, notHeld, dnc
    fields += [""]  # algoStrategy
    fields += [0, v.status, 0, 0]  # solicited, status, randomizeSize, randomizePrice
    fields += [0]  # conditions
    fields += ["", "", "", "", "", ""]  # trailStopPrice .. autoCancelDate
    fields += [v.filled, "", "", "", "", "", 0]  # filledQuantity .. parentPermId
    fields += [completed_time, v.status]
    fields += ["", "", "", "", ""]
    return fields


def exec_details(
    req_id: int,
    v: OrderView,
    exec_id: str,
    time: str,
    side: str,
    shares: Decimal,
    price: Decimal,
    cum: Decimal,
    avg: Decimal,
) -> list[object]:
    fields: list[object] = [11, req_id, v.order_id, *v.contract.short()]
    fields += [exec_id, time, v.account, v.contract.exchange, side, shares, price]
    fields += [v.perm_id, v.client_id, 0, cum, avg, v.order_ref, "", "", "", 1, 0]
    return fields


def commission_report(exec_id: str, commission: Decimal, currency: str) -> list[object]:
    return [59, 1, exec_id, commission, currency, "", "", ""]


def position(account: str, c: FakeContract, qty: Decimal, avg_cost: Decimal) -> list[object]:
    return [61, 3, account, *c.short(), qty, avg_cost]


def contract_details(req_id: int, c: FakeContract) -> list[object]:
    fields: list[object] = [10, req_id, c.symbol, c.sec_type, c.expiry, "", "", c.exchange]
    fields += [c.currency, c.symbol, c.symbol, c.symbol, c.con_id, c.min_tick]
    fields += [c.multiplier, "LMT,MKT,STP", "SMART", 1, 0, f"{c.symbol} INC", "NASDAQ"]
    fields += ["", "", "", "", "UTC", "", "", "", "", 0]  # .. evMultiplier, numSecIds
    fields += ["", "", "", "", "", "COMMON"]  # aggGroup .. stockType
    fields += [1, 1, 1]  # minSize, sizeIncrement, suggestedSizeIncrement
    return fields


def error(req_id: int, code: int, text: str) -> list[object]:
    return [4, 2, req_id, code, text, ""]
