"""Our symbols to IB contracts, and what the contract details say about them.

A symbol is a stock on the block's ``exchange`` in its ``currency`` unless the block's
``contracts`` describes it (a future, an FX pair, a stock elsewhere). The contract
details (``reqContractDetails``) give IB's ``conId``, its price increment
(``minTick``) and its size increment: the tick and lot the adapter checks a request
against before anything is sent, and that :meth:`IbkrBroker.instrument` hands the
gates.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ib_async import Contract, ContractDetails

from ordergate.brokers.ibkr.settings import ContractSpec, IbkrSettings
from ordergate.domain.errors import BrokerRejected, ErrorCode


@dataclass(frozen=True, slots=True)
class Instrument:
    """One symbol as IB trades it."""

    symbol: str
    contract: Contract
    tick: Decimal
    lot: Decimal
    multiplier: Decimal


def contract_for(symbol: str, block: IbkrSettings) -> Contract:
    """The contract to qualify for ``symbol`` (not yet known to IB by ``conId``)."""
    spec = block.contracts.get(symbol) or block.contracts.get(symbol.upper()) or ContractSpec()
    return Contract(
        secType=spec.sec_type,
        symbol=spec.symbol or symbol,
        exchange=spec.exchange or ("IDEALPRO" if spec.sec_type == "CASH" else block.exchange),
        currency=spec.currency or block.currency,
        lastTradeDateOrContractMonth=spec.last_trade,
        multiplier=spec.multiplier,
        localSymbol=spec.local_symbol,
    )


def decimal_of(value: float) -> Decimal:
    """An SDK float as the decimal it prints as (``Decimal(str(x))``), never the
    binary expansion; a whole number without its ``.0``."""
    number = Decimal(str(value))
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number


def instrument_of(symbol: str, details: ContractDetails, block: IbkrSettings) -> Instrument:
    contract = details.contract or contract_for(symbol, block)
    tick = decimal_of(details.minTick) if details.minTick else Decimal("0.01")
    size = details.sizeIncrement
    lot = decimal_of(size) if size and size > 0 else block.default_lot
    multiplier = Decimal(contract.multiplier) if contract.multiplier else Decimal(1)
    return Instrument(symbol, contract, tick, lot, multiplier)


def as_float(value: Decimal, what: str, symbol: str) -> float:
    """``value`` as the float ib_async sends, refused when the float would not
    print back as the same decimal (IB would receive another number)."""
    sent = float(value)
    if decimal_of(sent) != value:
        raise BrokerRejected(
            f"{what} {value} for {symbol} does not survive IB's float wire format "
            f"(it would go out as {sent!r}); send fewer digits",
            code=ErrorCode.E_INTENT_INVALID,
            context={"symbol": symbol, what: str(value)},
        )
    return sent


def check_increments(instrument: Instrument, qty: Decimal, prices: dict[str, Decimal]) -> None:
    """Refuse, before sending, a price off IB's tick or a quantity off its lot."""
    for what, price in prices.items():
        if price % instrument.tick:
            raise BrokerRejected(
                f"{what} {price} for {instrument.symbol} is not a multiple of IB's price "
                f"increment {instrument.tick}",
                code=ErrorCode.E_RISK_TICK_SIZE,
                context={"symbol": instrument.symbol, what: str(price)},
            )
    if qty % instrument.lot:
        raise BrokerRejected(
            f"quantity {qty} for {instrument.symbol} is not a multiple of IB's size "
            f"increment {instrument.lot}",
            code=ErrorCode.E_RISK_LOT_SIZE,
            context={"symbol": instrument.symbol, "qty": str(qty)},
        )
