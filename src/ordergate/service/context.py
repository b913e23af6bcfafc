"""What every route needs, built once per app by :func:`~ordergate.service.app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.metrics import ExecMetrics
from ordergate.obs.redact import Redactor
from ordergate.service.circuit import circuit_of
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


def ctx(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.ctx
    return context
