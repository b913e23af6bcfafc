"""One IB order as a :class:`BrokerOrder`, from what ib_async holds on the IB loop:
the trade, every fill of it (by ``permId``, or ``orderRef`` before TWS gave one), its
parent's client order id, our symbol and account label."""

from __future__ import annotations

from collections.abc import Callable

from ib_async import IB, Contract, Fill, Trade

from ordergate.brokers.ibkr.settings import IbkrSettings
from ordergate.brokers.ibkr.translate import client_order_id_of, to_broker_order
from ordergate.domain.wire import BrokerOrder


class Views:
    def __init__(
        self,
        block: IbkrSettings,
        *,
        label: str,
        ib_account: str,
        released: Callable[[Fill], bool],
        redact: Callable[[str], str],
        by_con_id: dict[int, str],
        parents: dict[str, str],
    ) -> None:
        self._parents = parents
        self._block = block
        self._label = label
        self._ib_account = ib_account
        self._released = released
        self._redact = redact
        self._by_con_id = by_con_id

    def symbol_of(self, contract: Contract) -> str:
        """Our symbol for an IB contract: by conId once qualified, else by the block."""
        known = self._by_con_id.get(contract.conId)
        if known is not None:
            return known
        for ours, spec in self._block.contracts.items():
            if (spec.symbol or ours) == contract.symbol and spec.sec_type == contract.secType:
                return ours
        return str(contract.symbol)

    def fills_of(self, ib: IB | None, trade: Trade) -> list[Fill]:
        fills = list(ib.wrapper.fills.values()) if ib is not None else list(trade.fills)
        perm, cid = trade.order.permId, trade.order.orderRef
        return [
            f
            for f in fills
            if (perm and f.execution.permId == perm)
            or (not perm and cid and f.execution.orderRef == cid)
        ]

    def view(self, ib: IB | None, trade: Trade, symbol: str | None = None) -> BrokerOrder:
        parent = None
        if trade.order.parentId and ib is not None:
            parent = next(
                (
                    client_order_id_of(t)
                    for t in ib.wrapper.trades.values()
                    if t.order.orderId == trade.order.parentId
                    and t.order.clientId == trade.order.clientId
                ),
                None,
            )
        if parent is None:
            parent = self._parents.get(client_order_id_of(trade))
        holder = trade.order.account
        return to_broker_order(
            trade,
            self.fills_of(ib, trade),
            symbol=symbol or self.symbol_of(trade.contract),
            released=self._released,
            account_id=self._label if holder in ("", self._ib_account) else None,
            redact=self._redact,
            parent_client_order_id=parent,
        )
