"""Building a ``KiteBroker`` against the fake, and the contract harness."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.brokers.kite.adapter import KiteBroker
from ordergate.brokers.kite.settings import KiteSettings
from ordergate.brokers.kite.tags import foreign_client_id
from ordergate.domain.enums import Side
from ordergate.domain.wire import OrderRequest
from ordergate.risk.killswitch import KillSwitchBoard
from tests.brokers.kite.fake_kite import FakeKite


def make_adapter(
    fake: FakeKite,
    *,
    timeout: float = 3.0,
    board: KillSwitchBoard | None = None,
    token_file: Path | None = None,
    **overrides: Any,
) -> KiteBroker:
    assert fake.server is not None
    url = f"http://127.0.0.1:{fake.server.server_address[1]}"
    values: dict[str, Any] = {
        "api_key": fake.api_key,
        "api_secret": fake.api_secret,
        "access_token": next(iter(fake.tokens)),
        "root": url,
        "poll_interval_s": 0.05,
        "orders_per_second": 50,
        "orders_per_minute": 5000,
        "requests_per_second": 500,
        "quotes_per_second": 50,
    }
    values.update(overrides)
    return KiteBroker(KiteSettings(**values), timeout=timeout, board=board, token_file=token_file)


class KiteHarness:
    """The contract harness: the adapter against the fake, and the fake's knobs."""

    symbol = "INFY"
    account_id = "ZX1234"
    price = Decimal(1500)

    def __init__(self, fake: FakeKite) -> None:
        self.fake = fake
        self.adapter = make_adapter(fake)

    def close(self) -> None:
        self.adapter.close()

    def _oid(self, client_order_id: str) -> str:
        view = self.adapter.fetch_order(client_order_id)
        assert view is not None, client_order_id
        return view.broker_order_id

    def trade(self, client_order_id: str) -> None:
        self.fake.trade(self._oid(client_order_id))

    def settle(self) -> None:
        time.sleep(0.01)

    def arm_parts(self, parts: int) -> None:
        self.fake.arm_parts(parts)

    def arm_reject(self, request: OrderRequest) -> tuple[OrderRequest, str]:
        self.fake.arm_reject("Insufficient funds. Required margin is 15000.00")
        return request, "Insufficient funds"

    def lose_next_reply(self) -> None:
        self.fake.lose_next_reply()

    def drop_next_submit(self) -> None:
        self.fake.refuse_next()

    def hide_next(self, seconds: float) -> None:
        self.fake.hide_next(seconds)

    def arm_cancel_race(self) -> None:
        self.fake.arm_cancel_race()

    def originate(self, side: Side, qty: Decimal) -> str:
        oid = self.fake.originate(side.value, int(qty), "NSE:INFY")
        return foreign_client_id(oid)
