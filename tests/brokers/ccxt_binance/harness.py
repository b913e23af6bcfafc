"""The ccxt adapter (Binance) built against the fake Binance, and the fake's controls."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from ordergate.brokers.ccxt.adapter import CcxtBroker
from ordergate.domain.enums import Side
from ordergate.domain.wire import OrderRequest
from tests.brokers.ccxt_binance.conftest import KEY, SECRET
from tests.brokers.ccxt_binance.fake import UID, FakeBinance, binance_urls


def build(fake: FakeBinance, **overrides: Any) -> CcxtBroker:
    options: dict[str, Any] = {
        "exchange": "binance",
        "api_key": KEY,
        "secret": SECRET,
        "symbols": ["BTC/USDT"],
        "urls": binance_urls(fake.url),
        "timeout": 1.0,
        "poll_interval_s": 0.1,
    }
    options.update(overrides)
    return CcxtBroker(**options)


class BinanceHarness:
    symbol = "BTC/USDT"
    account_id = str(UID)
    price = Decimal(100)

    def __init__(self, fake: FakeBinance, **overrides: Any) -> None:
        self.fake = fake
        self.adapter = build(fake, **overrides)

    def close(self) -> None:
        self.adapter.close()

    def trade(self, client_order_id: str) -> None:
        self.fake.trade(client_order_id)

    def settle(self) -> None:
        time.sleep(0.01)

    def arm_parts(self, parts: int) -> None:
        self.fake.arm(f"parts={parts}")

    def arm_reject(self, request: OrderRequest) -> tuple[OrderRequest, str]:
        self.fake.arm("reject")
        return request, "insufficient balance"

    def lose_next_reply(self) -> None:
        self.fake.arm("drop_reply")

    def drop_next_submit(self) -> None:
        self.fake.arm("429")

    def hide_next(self, seconds: float) -> None:
        self.fake.arm(f"hide={seconds}")

    def arm_cancel_race(self) -> None:
        self.fake.arm("race")

    def originate(self, side: Side, qty: Decimal) -> str:
        return self.fake.originate(side.value, qty)
