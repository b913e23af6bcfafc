"""Positions, the account summary and quotes, read from IB (coroutines on the IB loop)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ib_async import IB, Contract

from ordergate.brokers.ibkr.contracts import decimal_of
from ordergate.brokers.ibkr.translate import price_of
from ordergate.domain.errors import ConfigError
from ordergate.domain.market import Mark
from ordergate.domain.wire import BrokerAccount, BrokerPosition

_TAGS = ("TotalCashValue", "NetLiquidation", "BuyingPower")


def _untyped(obj: object) -> Any:
    """ib_async's client and wrapper methods that carry no annotations."""
    return obj


async def positions(
    ib: IB, ib_account: str, label: str, symbol_of: Callable[[Contract], str]
) -> list[BrokerPosition]:
    """The IB account's positions under our account label; IB's ``avgCost`` of a
    future is per contract (price × multiplier), ours per unit of price."""
    out = []
    for p in await ib.reqPositionsAsync():
        if p.account != ib_account or not p.position:
            continue
        mult = Decimal(p.contract.multiplier) if p.contract.multiplier else Decimal(1)
        out.append(
            BrokerPosition(
                symbol=symbol_of(p.contract),
                qty=decimal_of(p.position),
                avg_price=decimal_of(p.avgCost) / mult,
                account_id=label,
            )
        )
    return out


def check_managed(ib: IB, ib_account: str) -> None:
    """Refuse an IB account this login does not manage, naming none of the numbers
    (only their last two digits)."""
    managed = ib.managedAccounts()
    if ib_account not in managed:
        shown = ", ".join(f"…{a[-2:]}" for a in managed)
        raise ConfigError(
            "the IB account in ORDERGATE_IBKR_ACCOUNT is not one this IB login manages "
            f"({len(managed)} account(s): {shown}); refusing to trade it"
        )


async def summary(ib: IB, ib_account: str, label: str) -> BrokerAccount:
    """Cash, net liquidation and buying power from one account summary request
    (cancelled once answered: IB allows two at a time)."""
    check_managed(ib, ib_account)
    req_id = ib.client.getReqId()
    client = _untyped(ib.client)
    future = _untyped(ib.wrapper).startReq(req_id)
    client.reqAccountSummary(req_id, "All", ",".join(_TAGS))
    await future
    client.cancelAccountSummary(req_id)
    values = {
        v.tag: v
        for v in ib.wrapper.acctSummary.values()
        if v.account == ib_account and v.tag in _TAGS
    }

    def amount(tag: str) -> Decimal:
        return Decimal(values[tag].value) if tag in values else Decimal(0)

    currency = values["TotalCashValue"].currency if "TotalCashValue" in values else "USD"
    return BrokerAccount(
        account_id=label,
        cash=amount("TotalCashValue"),
        equity=amount("NetLiquidation"),
        buying_power=amount("BuyingPower"),
        currency=currency,
    )


async def quote(ib: IB, contract: Contract, symbol: str) -> Mark | None:
    """A ``reqMktData`` snapshot as a mark (None when IB has no last price)."""
    [ticker] = await ib.reqTickersAsync(contract)
    last, bid, ask = (price_of(x) for x in (ticker.last, ticker.bid, ticker.ask))
    if last is None:
        return None
    return Mark(symbol=symbol, last=last, ts=datetime.now(UTC), bid=bid, ask=ask)
