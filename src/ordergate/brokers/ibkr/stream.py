"""The order stream: views built on the IB loop, handed to the listeners on a thread
of their own (a listener that books a fill in the database never blocks ib_async).

An execution is *released* to the engine once its commission report is in, or
``commission_wait_s`` after it arrived: the engine books a fill once, so it waits for
the commission that IB sends after the fill.
"""

from __future__ import annotations

import queue
import threading
import time

import structlog
from ib_async import Fill

from ordergate.brokers.base import OrderListener
from ordergate.domain.wire import BrokerOrder

log = structlog.get_logger("ordergate.brokers.ibkr")


class Stream:
    def __init__(self, commission_wait_s: float) -> None:
        self.commission_wait_s = commission_wait_s
        self.listeners: list[OrderListener] = []
        self._arrived: dict[str, float] = {}
        self._outbox: queue.Queue[BrokerOrder | None] = queue.Queue()
        self._thread = threading.Thread(target=self._dispatch, name="ibkr-stream", daemon=True)
        self._thread.start()

    def put(self, view: BrokerOrder) -> None:
        self._outbox.put(view)

    def arrived(self, fill: Fill) -> None:
        self._arrived.setdefault(fill.execution.execId, time.monotonic())

    def released(self, fill: Fill) -> bool:
        """May this execution be reported now (its commission is in, or overdue)?"""
        if fill.commissionReport.execId:
            return True
        first = self._arrived.setdefault(fill.execution.execId, time.monotonic())
        if time.monotonic() - first < self.commission_wait_s:
            return False
        log.warning(
            "an IB execution came without its commission; reported without it",
            exec_id=fill.execution.execId,
        )
        return True

    def _dispatch(self) -> None:
        while True:
            view = self._outbox.get()
            if view is None:
                return
            for listener in list(self.listeners):
                try:
                    listener(view)
                except Exception:
                    log.exception("an order listener failed", client_order_id=view.client_order_id)

    def close(self) -> None:
        self._outbox.put(None)
