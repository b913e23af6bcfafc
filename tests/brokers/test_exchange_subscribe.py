"""``subscribe`` means "every later change": the exchange adapter's stream starts from
the moment of the call, not from whenever its thread first gets to run.

Found by the contract suite on a loaded machine: the stream thread took its cursor
after the first reports of a partial fill were written, and never delivered them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.brokers.base import BrokerOrder
from ordergate.brokers.exchange import ExchangeBroker
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.wire import OrderRequest
from ordergate.exchange.server import ExchangeServer


class LateThreadBroker(ExchangeBroker):
    """Its stream thread is slow to start (a busy machine), nothing else."""

    def _stream(self, *args: Any) -> None:
        time.sleep(0.3)
        super()._stream(*args)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ExchangeServer]:
    server = ExchangeServer("127.0.0.1", 0, tmp_path / "exchange.db")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    thread.join(5)
    server.server_close()


def test_changes_right_after_subscribe_are_delivered(server: ExchangeServer) -> None:
    broker = LateThreadBroker(server.url, timeout=2.0, stream_wait=0.2)
    broker.mark("AAPL", "100")
    seen: list[BrokerOrder] = []
    broker.subscribe(seen.append)
    broker.submit(
        OrderRequest(
            client_order_id="og1",
            account_id="default",
            symbol="AAPL",
            side=Side.BUY,
            qty=Decimal(5),
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.DAY,
            limit_price=Decimal(90),
        )
    )
    broker.mark("AAPL", "89")  # fills it: a change after subscribe
    deadline = time.monotonic() + 5
    while not any(v.status is OrderStatus.FILLED for v in seen):
        assert time.monotonic() < deadline, f"the fill was never pushed: {seen}"
        time.sleep(0.02)
    broker.close()
