"""What every route needs, built once per app by :func:`~ordergate.service.app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.metrics import ExecMetrics
from ordergate.obs.redact import Redactor
from ordergate.service.events import Broadcaster

if TYPE_CHECKING:
    from ordergate.risk.killswitch import KillSwitchBoard
    from ordergate.service.ready import Readiness


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceContext:
    engine: ExecutionEngine
    redactor: Redactor
    metrics: ExecMetrics
    events: Broadcaster
    board: KillSwitchBoard | None
    max_body_bytes: int

    readiness: Readiness

    def circuit(self) -> dict[str, Any]:
        """The broker circuit breaker as the call policy reports it (closed without one)."""
        return circuit_of(self.engine)


def circuit_of(engine: ExecutionEngine) -> dict[str, Any]:
    """The broker circuit breaker as the engine's call policy reports it (closed without one)."""
    breaker = getattr(engine.policy, "breaker", None)
    snapshot = getattr(breaker, "snapshot", None)
    if callable(snapshot):
        data = snapshot()
        if isinstance(data, dict):
            return {str(k): v for k, v in data.items()}
    return {"adapter": engine.broker.adapter_id, "state": "closed"}


def ctx(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.ctx
    return context
