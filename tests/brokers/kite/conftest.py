"""Kite tests: the fake on loopback, and no test may reach anything else."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.brokers.kite.fake_kite import FakeKite
from tests.brokers.kite.fake_ticker import FakeTicker

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any connection that is not to loopback (api.kite.trade included)."""
    real = socket.create_connection

    def guarded(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        host = address[0]
        if host not in _LOOPBACK:
            raise OSError(f"test tried to reach {host}: only 127.0.0.1 is allowed")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    import urllib3.util.connection

    monkeypatch.setattr(
        urllib3.util.connection,
        "create_connection",
        _guard(urllib3.util.connection.create_connection),
    )


def _guard(real: Any) -> Any:
    def guarded(address: Any, *args: Any, **kwargs: Any) -> Any:
        if address[0] not in _LOOPBACK:
            raise OSError(f"test tried to reach {address[0]}: only 127.0.0.1 is allowed")
        return real(address, *args, **kwargs)

    return guarded


@pytest.fixture
def fake() -> Iterator[FakeKite]:
    kite = FakeKite()
    kite.add_instrument("NSE:INFY", "1500")
    kite.add_instrument("NSE:TCS", "3500")
    kite.add_instrument("NFO:NIFTY26DECFUT", "24000", tick="0.05", lot=75)
    kite.start()
    yield kite
    kite.stop()


@pytest.fixture
def ticker(fake: FakeKite) -> Iterator[FakeTicker]:
    """Kite's websocket, told of every order change the REST fake makes."""
    socket = FakeTicker(fake.api_key, lambda: list(fake.tokens), heartbeat_s=0.2).start()
    fake.ticker = socket
    yield socket
    fake.ticker = None
    socket.stop()
