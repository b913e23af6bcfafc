"""The fake TWS and the adapter against it; no test here may reach the internet."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ib_async", reason="the ibkr extra (ib_async) is not installed")

from tests.brokers.ibkr.fake_tws import FakeTws
from tests.brokers.ibkr.harness import IbkrHarness

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _loopback_only(address: Any) -> None:
    if isinstance(address, tuple):
        host = str(address[0])
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ConnectionRefusedError(f"tests may not leave 127.0.0.1 (tried {host})")


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    def connect(self: socket.socket, address: Any) -> None:
        _loopback_only(address)
        _connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _loopback_only(address)
        return _connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture
def tws() -> Iterator[FakeTws]:
    fake = FakeTws().start()
    yield fake
    fake.stop()


@pytest.fixture
def ibkr(tws: FakeTws, tmp_path: Path) -> Iterator[IbkrHarness]:
    harness = IbkrHarness(tws, tmp_path)
    yield harness
    harness.close()
