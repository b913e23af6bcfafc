"""FIX tests: QuickFIX on both sides, on 127.0.0.1 only.

No test may reach the internet: Python-level connects to anything but loopback are
refused here (QuickFIX's own sockets are C++; the settings files these tests write name
127.0.0.1 only). The whole directory is skipped, saying why, where the extra ``fix``
(``quickfix``) is not installed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("quickfix", reason="the extra 'fix' (quickfix) is not installed")

from tests.brokers.fix.kit import FixRig


def _loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect
    real_create = socket.create_connection

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise OSError(f"test refused a connection to {address!r}: loopback only")
        return real_connect(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not _loopback(address):
            raise OSError(f"test refused a connection to {address!r}: loopback only")
        return real_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[FixRig]:
    rig = FixRig(tmp_path)
    yield rig
    rig.close()
