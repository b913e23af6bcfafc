"""The broker's circuit breaker as the service shows it (status, readiness)."""

from __future__ import annotations

from typing import Any

from ordergate.engine.engine import ExecutionEngine


def circuit_of(engine: ExecutionEngine) -> dict[str, Any]:
    """The broker circuit breaker as the engine's call policy reports it (closed without one)."""
    breaker = getattr(engine.policy, "breaker", None)
    snapshot = getattr(breaker, "snapshot", None)
    if callable(snapshot):
        data = snapshot()
        if isinstance(data, dict):
            return {str(k): v for k, v in data.items()}
    return {"adapter": engine.broker.adapter_id, "state": "closed"}
