"""The ``ibkr`` adapter built against the fake TWS, with the fake's controls."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.brokers.ibkr.adapter import IbkrBroker
from ordergate.brokers.ibkr.settings import IbkrSettings
from ordergate.domain.enums import Side
from ordergate.domain.wire import OrderRequest
from tests.brokers.ibkr.fake_tws import ACCOUNT, FakeTws

CLIENT_ID = 7
LABEL = "acct-main"


def block_for(tws: FakeTws, tmp_path: Path, **overrides: Any) -> IbkrSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": tws.port,
        "client_id": CLIENT_ID,
        "account": ACCOUNT,
        "ids_file": tmp_path / "ibkr.ids",
        "commission_wait_s": 2.0,
        "reconnect_s": 0.1,
        "connect_timeout_s": 3.0,
        "contracts": {
            "ESZ6": {
                "sec_type": "FUT",
                "symbol": "ES",
                "exchange": "CME",
                "last_trade": "20261218",
                "multiplier": "50",
            },
            "EURUSD": {"sec_type": "CASH", "symbol": "EUR"},
        },
    }
    values.update(overrides)
    return IbkrSettings(**values)


class IbkrHarness:
    symbol = "AAPL"
    account_id = LABEL
    price = Decimal("100")

    def __init__(self, tws: FakeTws, tmp_path: Path, **overrides: Any) -> None:
        self.tws = tws
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.block = block_for(tws, tmp_path, **overrides)
        self.adapter = IbkrBroker(
            self.block, account_label=LABEL, timeout=1.5, ids_file=self.block.ids_file or tmp_path
        )
        self._refused = False

    def close(self) -> None:
        self.adapter.close()

    def order_of(self, client_order_id: str) -> tuple[int, int]:
        [order] = self.tws.by_ref(client_order_id)[-1:]
        return order.key

    def trade(self, client_order_id: str) -> None:
        self.tws.trade(*self.order_of(client_order_id))

    def settle(self) -> None:
        if self._refused:
            self._refused = False
            self.tws.resume()
        time.sleep(0.01)

    def wait(self, probe: Any, what: str, seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while not probe():
            if time.monotonic() > deadline:
                raise AssertionError(f"after {seconds}s still not: {what}")
            time.sleep(0.01)

    # ------------------------------------------------------------ abilities

    def arm_parts(self, parts: int) -> None:
        self.tws.parts_next = parts

    def arm_reject(self, request: OrderRequest) -> tuple[OrderRequest, str]:
        self.tws.reject_next = "Insufficient margin for this order"
        return request, "Insufficient margin"

    def lose_next_reply(self) -> None:
        self.tws.lose_next = True

    def drop_next_submit(self) -> None:
        """TWS is down (the socket dropped, connections refused) when the submit
        comes: it cannot have received it; it is back at the next settle."""
        self.tws.refuse()
        self.tws.drop_all()
        self._refused = True
        self.wait(lambda: not self.adapter.session.ready(), "the adapter saw the socket drop")

    def arm_cancel_race(self) -> None:
        self.tws.race_next = True

    def drop_stream(self) -> None:
        """A Gateway restart: every socket closed; it accepts again at once."""
        self.tws.drop_all()
        self.wait(lambda: not self.adapter.session.ready(), "the adapter saw the socket drop")

    def restore_stream(self) -> None:
        self.wait(self.adapter.session.ready, "the adapter reconnected by itself")

    def shape_stream(self, *, duplicate: bool, reorder: bool) -> None:
        self.tws.duplicate, self.tws.reorder = duplicate, reorder

    def originate(self, side: Side, qty: Decimal) -> str:
        order = self.tws.originate("BUY" if side is Side.BUY else "SELL", qty)
        return f"ib{order.view.perm_id}"
