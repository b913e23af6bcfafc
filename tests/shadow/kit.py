"""A real engine with a shadow beside it, built the way ``build_runtime`` will build it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ordergate.bootstrap import Runtime, build_runtime, build_twin
from ordergate.brokers.base import BrokerAdapter
from ordergate.clock import SimulatedClock
from ordergate.config import Settings, load_settings
from ordergate.shadow import Shadow, attach_shadow


def settings_in(tmp_path: Path, **extra: Any) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{tmp_path / 'real.db'}", **{"shadow": True, **extra}
    )


@dataclass
class Shadowed:
    runtime: Runtime
    shadow: Shadow
    clock: SimulatedClock

    @property
    def engine(self) -> Any:
        return self.runtime.engine

    def close(self) -> None:
        self.shadow.close()
        self.runtime.engine.store.close()


@contextmanager
def shadowed(
    tmp_path: Path,
    *,
    broker: BrokerAdapter | None = None,
    clock: SimulatedClock | None = None,
    queue_size: int | None = None,
    **extra: Any,
) -> Iterator[Shadowed]:
    settings = settings_in(tmp_path, **extra)
    clock = clock or SimulatedClock()
    runtime = build_runtime(settings, broker=broker, clock=clock)
    shadow = runtime.shadow  # the root attaches it (settings.shadow)
    assert shadow is not None
    if queue_size is not None:  # a test's own queue: the twin again, attached anew
        shadow.close()
        shadow = attach_shadow(runtime.engine, build_twin(settings), queue_size=queue_size)
    pair = Shadowed(runtime, shadow, clock)
    try:
        yield pair
    finally:
        pair.close()


def buy(key: str, qty: str = "10", symbol: str = "AAPL", **extra: str) -> dict[str, str]:
    return {"idempotency_key": key, "symbol": symbol, "side": "BUY", "qty": qty, **extra}


def sell(key: str, qty: str = "10", symbol: str = "AAPL", **extra: str) -> dict[str, str]:
    return {"idempotency_key": key, "symbol": symbol, "side": "SELL", "qty": qty, **extra}
