"""The Alpaca adapter built against the fake, and the fake's controls (the contract
suite's harness)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from ordergate.brokers.alpaca.adapter import AlpacaBroker
from ordergate.domain.enums import Side
from ordergate.domain.wire import OrderRequest
from tests.brokers.alpaca.conftest import KEY, SECRET
from tests.brokers.alpaca.fake import ACCOUNT_ID, FakeAlpaca


def build(fake: FakeAlpaca, **overrides: Any) -> AlpacaBroker:
    options: dict[str, Any] = {
        "api_key": KEY,
        "secret_key": SECRET,
        "base_url": fake.url,
        "stream_url": fake.stream.url,
        "data_url": fake.url,
        "timeout": 1.0,
        "reconnect_min_s": 0.1,
    }
    options.update(overrides)
    return AlpacaBroker(**options)


class AlpacaHarness:
    symbol = "AAPL"
    account_id = ACCOUNT_ID
    price = Decimal(100)

    def __init__(self, fake: FakeAlpaca, **overrides: Any) -> None:
        self.fake = fake
        fake.mark(self.symbol, self.price)
        self.adapter = build(fake, **overrides)

    def close(self) -> None:
        self.adapter.close()

    def trade(self, client_order_id: str) -> None:
        self.fake.trade(self.fake.by_cid[client_order_id])

    def settle(self) -> None:
        time.sleep(0.01)

    def arm_parts(self, parts: int) -> None:
        self.fake.arm(f"parts={parts}")

    def arm_reject(self, request: OrderRequest) -> tuple[OrderRequest, str]:
        self.fake.arm("reject")
        return request, "insufficient buying power"

    def lose_next_reply(self) -> None:
        self.fake.arm("drop_reply")

    def drop_next_submit(self) -> None:
        self.fake.arm("503")

    def hide_next(self, seconds: float) -> None:
        self.fake.arm(f"hide={seconds}")

    def arm_cancel_race(self) -> None:
        self.fake.arm("race")

    def drop_stream(self) -> None:
        self.fake.drop_stream()
        deadline = time.monotonic() + 10
        while self.adapter.stream_up:
            assert time.monotonic() < deadline, "the adapter never noticed the stream down"
            time.sleep(0.01)

    def restore_stream(self) -> None:
        self.fake.restore_stream()

    def shape_stream(self, *, duplicate: bool, reorder: bool) -> None:
        self.fake.duplicate, self.fake.reorder = duplicate, reorder

    def originate(self, side: Side, qty: Decimal) -> str:
        return self.fake.originate(side.value.lower(), qty, self.symbol)
