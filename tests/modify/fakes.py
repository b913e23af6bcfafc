"""A paper broker whose modify is a cancel-replace, for the engine's new-order path."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from ordergate.brokers.base import BrokerOrder
from ordergate.brokers.paper import PAPER_CAPABILITIES, PaperBroker
from ordergate.domain.capabilities import Modify
from ordergate.domain.wire import OrderRequest


class CancelReplacePaper(PaperBroker):
    """A paper broker whose modify is a cancel-replace (Alpaca's PATCH): the old order
    is canceled and a new one opened under ``new_client_order_id``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.capabilities = replace(PAPER_CAPABILITIES, modify=Modify.CANCEL_REPLACE)
        self.working_both = False

    def modify(  # type: ignore[override]
        self,
        client_order_id: str,
        *,
        new_client_order_id: str,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> BrokerOrder:
        old = self.venue.orders[client_order_id]
        self.cancel(client_order_id)
        left = (qty or old.request.qty) - old.filled_qty
        request: OrderRequest = replace(
            old.request,
            client_order_id=new_client_order_id,
            qty=left,
            limit_price=limit_price or old.request.limit_price,
            stop_price=stop_price or old.request.stop_price,
        )
        return self.submit(request)
