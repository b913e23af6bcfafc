"""The simulated exchange's adapter passes the broker contract suite, against a real
exchange server on loopback, driven through its fault knobs (``exchange/faults.py``):
per-request ``X-Fault`` headers arm the next submit, the run's knobs shape the stream.
Once as the exchange runs by default (it dedupes), once started with ``dedupe=false``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.domain.enums import OrderType, Side, TimeInForce
from ordergate.domain.money import fmt
from ordergate.domain.wire import OrderRequest
from ordergate.exchange.faults import FaultKnobs
from ordergate.exchange.server import ExchangeServer
from ordergate.testing.broker_contract import BrokerContract

WAIT_S = 10.0


def _until(probe: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"the exchange never got to: {what}")
        time.sleep(0.01)


class ExchangeHarness:
    symbol = "AAPL"
    account_id = "default"
    price = Decimal(100)

    def __init__(self, server: ExchangeServer, *, dedupe: bool) -> None:
        self.server = server
        self._knobs: dict[str, Any] = {"dedupe": dedupe}
        server.faults.set(FaultKnobs.parse(self._knobs))
        self.adapter = ExchangeBroker(
            server.url, timeout=3.0, stream_wait=0.2, dedupes_client_order_id=dedupe
        )
        self.adapter.mark(self.symbol, fmt(self.price) or "100")
        self._foreign = 0

    def close(self) -> None:
        self.adapter.close()

    # -- BrokerHarness
    def trade(self, client_order_id: str) -> None:
        view = self.adapter.fetch_order(client_order_id)
        assert view is not None
        assert view.limit_price is not None
        self.adapter.mark(self.symbol, fmt(view.limit_price) or "")
        if view.status.is_open:  # parts come one gap apart while the price holds

            def done() -> bool:
                now = self.adapter.fetch_order(client_order_id)
                return now is not None and now.status.is_terminal

            _until(done, f"{client_order_id} traded")
        self.adapter.mark(self.symbol, fmt(self.price) or "")

    def settle(self) -> None:
        time.sleep(0.01)

    # -- abilities (X-Fault on the next submit)
    def arm_parts(self, parts: int) -> None:
        self.adapter.inject("submit", f"fill_parts={parts},part_gap_ms=50")

    def arm_reject(self, request: OrderRequest) -> tuple[OrderRequest, str]:
        self.adapter.inject("submit", "reject")
        return request, "rejected by the venue"

    def lose_next_reply(self) -> None:
        self.adapter.inject("submit", "drop_reply")

    def drop_next_submit(self) -> None:
        self.adapter.inject("submit", "http_503")

    def hide_next(self, seconds: float) -> None:
        self.adapter.inject("submit", f"hide_ms={int(seconds * 1000)}")

    def arm_cancel_race(self) -> None:
        self.adapter.inject("submit", "late_fill_ms=100")

    # -- abilities (the run's knobs)
    def _set(self, **knobs: Any) -> None:
        self._knobs.update(knobs)
        self.server.faults.set(FaultKnobs.parse(self._knobs))

    def drop_stream(self) -> None:
        self._set(stream_down=True)
        _until(lambda: not self.adapter.stream_up, "the adapter noticing the stream down")

    def restore_stream(self) -> None:
        self._set(stream_down=False)

    def shape_stream(self, *, duplicate: bool, reorder: bool) -> None:
        self._set(p_duplicate_report=float(duplicate), p_reorder=float(reorder))

    def originate(self, side: Side, qty: Decimal) -> str:
        """Another client of the exchange places it: not this adapter."""
        self._foreign += 1
        cid = f"desk-{self._foreign}"
        desk = ExchangeBroker(self.server.url, stream=False)
        desk.submit(
            OrderRequest(
                client_order_id=cid,
                account_id=self.account_id,
                symbol=self.symbol,
                side=side,
                qty=qty,
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.DAY,
            )
        )
        return cid


@pytest.fixture
def exchange_server(tmp_path: Path) -> Iterator[ExchangeServer]:
    server = ExchangeServer("127.0.0.1", 0, tmp_path / "exchange.db")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    thread.join(5)
    server.server_close()


class TestExchangeContract(BrokerContract):
    @pytest.fixture
    def harness(self, exchange_server: ExchangeServer) -> Iterator[ExchangeHarness]:
        harness = ExchangeHarness(exchange_server, dedupe=True)
        yield harness
        harness.close()


class TestExchangeWithoutDedupeContract(BrokerContract):
    """``dedupe=false``: a repeated client id opens a second order, and says so."""

    @pytest.fixture
    def harness(self, exchange_server: ExchangeServer) -> Iterator[ExchangeHarness]:
        harness = ExchangeHarness(exchange_server, dedupe=False)
        yield harness
        harness.close()
