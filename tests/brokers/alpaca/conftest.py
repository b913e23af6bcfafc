from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.brokers.alpaca.fake import FakeAlpaca
from tests.brokers.loopback import only_loopback

__all__ = ["only_loopback"]

KEY = "PKTESTKEY0000000000001"
SECRET = "sEcReT-alpaca-0000000000000000000000001"


@pytest.fixture
def fake_alpaca() -> Iterator[FakeAlpaca]:
    fake = FakeAlpaca(KEY, SECRET).start()
    yield fake
    fake.stop()
