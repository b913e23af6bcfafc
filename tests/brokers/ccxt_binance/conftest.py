from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.brokers.ccxt_binance.fake import FakeBinance
from tests.brokers.loopback import only_loopback

__all__ = ["only_loopback"]

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@pytest.fixture
def fake_binance() -> Iterator[FakeBinance]:
    fake = FakeBinance(KEY, SECRET).start()
    yield fake
    fake.stop()
