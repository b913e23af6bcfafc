"""One order as the exchange keeps it, and its row in the exchange's SQLite file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.domain.enums import OrderStatus
from ordergate.domain.money import ZERO
from ordergate.domain.wire import Execution, OrderRequest
from ordergate.exchange.protocol import (
    execution_from_json,
    execution_to_json,
    order_to_json,
    request_from_json,
)


@dataclass(slots=True)
class XOrder:
    request: OrderRequest
    broker_order_id: str
    status: OrderStatus
    ts: datetime
    reason: str = ""
    triggered: bool = False
    executions: list[Execution] = field(default_factory=list)
    fill_parts: int = 1
    part_gap_s: float = 0.0
    not_before: float | None = None  # epoch s: a delayed fill may not happen before
    late_fill_s: float | None = None
    late_due: float | None = None  # epoch s: the late fill after a cancel
    hidden_until: float | None = None  # epoch s: look-ups do not show it before
    #: the client ids of the replaces applied, in order (a repeat is not applied again)
    replaces: list[str] = field(default_factory=list)

    def hidden(self, now: float) -> bool:
        return self.hidden_until is not None and now < self.hidden_until

    @property
    def filled(self) -> Decimal:
        return sum((e.last_qty for e in self.executions), ZERO)

    def view(self) -> dict[str, Any]:
        body = order_to_json(
            self.request,
            broker_order_id=self.broker_order_id,
            status=self.status,
            executions=self.executions,
            reason=self.reason,
            ts=self.ts,
        )
        body["replaces"] = list(self.replaces)
        return body

    def to_row(self) -> str:
        return json.dumps(
            {
                "request": self.request.to_dict(),
                "broker_order_id": self.broker_order_id,
                "status": self.status.value,
                "ts": self.ts.isoformat(),
                "reason": self.reason,
                "triggered": self.triggered,
                "executions": [execution_to_json(e) for e in self.executions],
                "fill_parts": self.fill_parts,
                "part_gap_s": self.part_gap_s,
                "not_before": self.not_before,
                "late_fill_s": self.late_fill_s,
                "late_due": self.late_due,
                "hidden_until": self.hidden_until,
                "replaces": self.replaces,
            }
        )

    @classmethod
    def from_row(cls, text: str) -> XOrder:
        d = json.loads(text)
        return cls(
            request=request_from_json(d["request"]),
            broker_order_id=d["broker_order_id"],
            status=OrderStatus(d["status"]),
            ts=datetime.fromisoformat(d["ts"]),
            reason=d["reason"],
            triggered=d["triggered"],
            executions=[execution_from_json(e) for e in d["executions"]],
            fill_parts=d["fill_parts"],
            part_gap_s=d["part_gap_s"],
            not_before=d["not_before"],
            late_fill_s=d["late_fill_s"],
            late_due=d["late_due"],
            hidden_until=d.get("hidden_until"),
            replaces=list(d.get("replaces", ())),
        )
