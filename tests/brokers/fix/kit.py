"""A FIX rig for tests: the acceptor and the adapter on 127.0.0.1, and a harness for
the broker contract suite over them."""

from __future__ import annotations

import socket
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.brokers.fix.acceptor import Acceptor
from ordergate.brokers.fix.adapter import FixBroker
from ordergate.brokers.fix.sessionfile import shipped_dictionary
from ordergate.brokers.fix.settings import FixSettings
from ordergate.domain.enums import Side
from ordergate.domain.wire import OrderRequest

ACCOUNT = "ACC-1"
PASSWORD = "s3cret-logon-pw"
WAIT_S = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def until(probe: Any, what: str, wait_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + wait_s
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"never got to: {what}")
        time.sleep(0.01)


def initiator_settings(directory: Path, port: int, *, persist: bool = False) -> Path:
    """An initiator session file as a user would write it (loopback only)."""
    dictionary = shipped_dictionary()
    lines = [
        "[DEFAULT]",
        "ConnectionType=initiator",
        "ReconnectInterval=1",
        f"FileStorePath={directory / 'initiator-store'}",
        "StartTime=00:00:00",
        "EndTime=00:00:00",
        "HeartBtInt=30",
        "ResetOnLogon=N",
        f"PersistMessages={'Y' if persist else 'N'}",
        f"UseDataDictionary={'Y' if dictionary else 'N'}",
        *([f"DataDictionary={dictionary}"] if dictionary else []),
        "[SESSION]",
        "BeginString=FIX.4.4",
        "SenderCompID=ORDERGATE",
        "TargetCompID=ACCEPTOR",
        "SocketConnectHost=127.0.0.1",
        f"SocketConnectPort={port}",
    ]
    path = directory / "initiator.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


def block(directory: Path, port: int, *, persist: bool = False, **more: Any) -> FixSettings:
    return FixSettings.load(
        config=initiator_settings(directory, port, persist=persist),
        account=ACCOUNT,
        username="og-user",
        password=PASSWORD,
        dedupe=True,
        journal=directory / "journal.db",
        **more,
    )


class FixRig:
    """An acceptor and an adapter, each started once; restartable for crash-like tests."""

    def __init__(self, directory: Path, *, persist: bool = False, **block_options: Any) -> None:
        self.directory = directory
        self.port = free_port()
        self.acceptor = Acceptor(
            self.port,
            marks={"AAPL": Decimal(100), "MSFT": Decimal(250)},
            directory=directory / "acceptor",
            commission=Decimal("0.35"),
            password=PASSWORD,
        )
        (directory / "acceptor").mkdir(exist_ok=True)
        self.acceptor.start()
        self.block = block(directory, self.port, persist=persist, **block_options)
        self.adapter = self.new_adapter()

    @property
    def counterparty(self) -> Any:
        return self.acceptor.counterparty

    def new_adapter(self) -> FixBroker:
        adapter = FixBroker(self.block, timeout=3.0)
        assert adapter.start(WAIT_S), "the adapter never logged on"
        return adapter

    def down(self, refuse: bool = True) -> None:
        """Cut the session (and keep it down while ``refuse``); return once the adapter
        has noticed."""
        self.counterparty.faults.refuse_logons = refuse
        self.counterparty.drop_session()
        until(lambda: not self.adapter.stream_up, "the adapter noticing the logout")

    def up(self) -> None:
        self.counterparty.faults.refuse_logons = False
        until(lambda: self.adapter.stream_up, "the session logged on again")

    def restart_adapter(self) -> FixBroker:
        self.adapter.close()
        self.adapter = self.new_adapter()
        return self.adapter

    def close(self) -> None:
        self.adapter.close(force=True)  # no Logout handshake: tests need not wait for it
        self.acceptor.stop()


class FixHarness:
    """The broker contract harness over a :class:`FixRig`."""

    symbol = "AAPL"
    account_id = ACCOUNT
    price = Decimal(100)

    def __init__(self, rig: FixRig) -> None:
        self.rig = rig
        self.adapter = rig.adapter
        self._restore = False
        self._foreign = 0

    @property
    def _cp(self) -> Any:
        return self.rig.counterparty

    def trade(self, client_order_id: str) -> None:
        self._cp.trade(client_order_id)

    def settle(self) -> None:
        if self._restore:
            self._restore = False
            self._cp.faults.refuse_logons = False
            until(lambda: self.adapter.stream_up, "the session logged on again")
        time.sleep(0.01)

    def arm_parts(self, parts: int) -> None:
        self._cp.faults.parts = parts
        # back to back: the adapter takes each report's view as it journals it, so a
        # burst of parts still reaches the stream as PARTIALLY_FILLED, then FILLED
        self._cp.faults.part_gap_s = 0.0

    def arm_reject(self, request: OrderRequest) -> tuple[OrderRequest, str]:
        self._cp.faults.reject = "rejected by the venue: credit limit"
        return request, "rejected by the venue"

    def lose_next_reply(self) -> None:
        self._cp.faults.lose_reply = True

    def drop_next_submit(self) -> None:
        self._cp.faults.refuse_logons = True
        self._cp.drop_session()
        until(lambda: not self.adapter.stream_up, "the adapter noticing the logout")
        self._restore = True

    def hide_next(self, seconds: float) -> None:
        self._cp.faults.hide_s = seconds

    def arm_cancel_race(self) -> None:
        self._cp.faults.cancel_race = True

    def shape_stream(self, *, duplicate: bool, reorder: bool) -> None:
        self._cp.faults.duplicate = duplicate
        self._cp.faults.reorder = reorder

    def originate(self, side: Side, qty: Decimal) -> str:
        self._foreign += 1
        cid = f"desk-{self._foreign}"
        self._cp.originate(cid, ACCOUNT, self.symbol, "1" if side is Side.BUY else "2", qty)
        return cid
