"""The shadow twin: a second engine, built by the same root, that simulates what went out.

The twin is :func:`ordergate.bootstrap.build_runtime` (through ``bootstrap.build_twin``) given

- its own store (``shadow_database_url``; by default the SQLite file beside the real
  one with ``.shadow`` in its name), so nothing it does reaches the real orders,
  positions, cash ledger or risk counters, and all of it survives a restart;
- the paper venue as the registry's ``paper`` plugin builds it (the configured
  slippage and fee models; its book in a file beside the twin's database);
- **no gates** and no call policy: the real engine already decided, the twin mirrors
  what really went out — a throttle or a breaker there would only lose orders;
- a :class:`ReplayClock` that reads the time of the event being mirrored, so a
  simulated order is created at the real order's submit time and filled at the time
  of the mark that filled it, however late the worker gets to it;
- the topic prefix ``<prefix>shadow.``: its events are ``ordergate.shadow.orders.*``
  on its own bus, never the real topics.

:class:`Mirror` applies one real event to the twin: an order that went out becomes a
twin order with the same terms (idempotency key: the real order's id), a mark moves the
twin's market, and a real order that ended unfilled (canceled, expired, rejected by the
broker, failed) cancels its twin, so both had the same time to fill.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from ordergate.config import Settings
from ordergate.domain.enums import OrderStatus, TimeInForce, TradingMode
from ordergate.domain.errors import ConfigError, OrderGateError
from ordergate.domain.intent import OrderIntent
from ordergate.domain.market import Mark
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.ports import GateContext, Rejection
from ordergate.shadow.links import Link, ShadowLinks

log = structlog.get_logger("ordergate.shadow")

#: Real statuses after which the twin's order is canceled if it still works.
ENDED_UNFILLED = frozenset(
    {OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED, OrderStatus.FAILED}
)


class ReplayClock:
    """The time of the real event being mirrored; never goes back (events of several
    submitting threads can reach the queue a little out of order)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(1970, 1, 1, tzinfo=UTC)  # until the first event
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance_to(self, when: datetime) -> datetime:
        with self._lock:
            self._now = max(self._now, when)
            return self._now


class PassAllGates:
    """The twin's gate chain: none. It mirrors orders the real gates already let out."""

    def check(self, intent: OrderIntent, context: GateContext) -> Rejection | None:
        return None


def shadow_database_url(settings: Settings) -> str:
    """``shadow_database_url``, or the SQLite file beside the real one named ``.shadow``."""
    if settings.shadow_database_url is not None:
        return settings.shadow_database_url
    path = settings.sqlite_path
    if path is None:
        raise ConfigError(
            "shadow mode on a PostgreSQL store needs its own shadow_database_url "
            "(the twin never writes into the real database)"
        )
    if path == ":memory:":
        return "sqlite:///:memory:"
    real = Path(path)
    return f"sqlite:///{real.with_name(real.stem + '.shadow' + (real.suffix or '.db'))}"


def shadow_settings(settings: Settings) -> Settings:
    """The twin's settings: its own store and topic prefix, a paper engine with no
    gates, no DAY close of its own (a twin order lives as long as its real order)."""
    if settings.dry_run:
        raise ConfigError("shadow mode mirrors real orders; a dry run sends none: turn one off")
    if settings.mode is TradingMode.BACKTEST:
        raise ConfigError("shadow mode runs beside LIVE or PAPER; a backtest is already simulated")
    url = shadow_database_url(settings)
    if url == settings.database_url and url != "sqlite:///:memory:":
        raise ConfigError("shadow_database_url must not be the real database_url")
    return settings.model_copy(
        update={
            "database_url": url,
            "mode": TradingMode.PAPER,
            "dry_run": False,
            "shadow": False,
            "engine_id": None,
            "risk_enabled": False,
            "paper_session_close": None,
            "topic_prefix": settings.topic_prefix + "shadow.",
        }
    )


@dataclass(frozen=True, slots=True)
class Twin:
    """The twin's engine (built by the composition root, ``bootstrap.build_twin``), its
    link tables and its clock."""

    twin_engine: ExecutionEngine
    links: ShadowLinks
    clock: ReplayClock

    @property
    def engine(self) -> ExecutionEngine:
        return self.twin_engine

    def close(self) -> None:
        self.links.close()
        self.engine.store.close()


def _ts(payload: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(payload["ts"]))


class Mirror:
    """Applies real events to the twin, one at a time (the worker's only thread)."""

    def __init__(self, twin: Twin) -> None:
        self.twin = twin

    def order_went_out(self, payload: Mapping[str, Any]) -> None:
        """A real order (or child) was marked SUBMITTED: simulate it once."""
        real_id = str(payload["order_id"])
        links = self.twin.links
        if links.get(real_id) is not None:
            return  # sent again (a resend after a look-up miss): one simulation
        when = self.twin.clock.advance_to(_ts(payload))
        tif = TimeInForce(str(payload["time_in_force"]))
        intent = {
            "idempotency_key": real_id,
            "account_id": payload["account_id"],
            "strategy_id": payload.get("strategy_id") or "default",
            "symbol": payload["symbol"],
            "side": payload["side"],
            "qty": payload["qty"],
            "order_type": payload["order_type"],
            "limit_price": payload.get("limit_price"),
            "stop_price": payload.get("stop_price"),
            # the real order's end is mirrored (order_ended): a GTD needs no date here
            "time_in_force": (TimeInForce.GTC if tif is TimeInForce.GTD else tif).value,
            "tag": f"shadow:{real_id}",
        }
        report = self.twin.engine.submit({k: v for k, v in intent.items() if v is not None})
        links.add(
            Link(
                real_order_id=real_id,
                real_client_order_id=str(payload["client_order_id"]),
                shadow_order_id=report.order_id,
                account_id=str(payload["account_id"]),
                symbol=str(payload["symbol"]),
                side=str(payload["side"]),
                order_type=str(payload["order_type"]),
                real_parent_order_id=payload.get("parent_order_id"),
                submitted_at=when,
            )
        )

    def marked(self, payload: Mapping[str, Any]) -> None:
        """The real market moved: move the twin's, and keep the mark for the fits."""
        self.twin.clock.advance_to(_ts(payload))
        mark = self.twin.engine.mark(
            str(payload["symbol"]),
            payload["last"],
            payload.get("bid"),
            payload.get("ask"),
            payload.get("volume"),
        )
        self.twin.links.add_mark(mark)

    def order_ended(self, payload: Mapping[str, Any]) -> None:
        """A real order ended unfilled: its twin stops working too."""
        link = self.twin.links.get(str(payload["order_id"]))
        if link is None:
            return  # never went out (a gate said no), or dropped by a full queue
        engine = self.twin.engine
        order = engine.store.get_order(link.shadow_order_id)
        if order is None or order.status.is_terminal:
            return
        self.twin.clock.advance_to(_ts(payload))
        try:
            engine.cancel(order.order_id, reason=f"real_{str(payload['status']).lower()}")
        except OrderGateError as exc:  # it filled meanwhile
            log.info("shadow order not canceled", order_id=order.order_id, error=exc.message)

    def seed_marks(self, marks: Mapping[str, Mark]) -> None:
        """The real engine's marks at attach time, so the first orders have a market
        (after a restart only those newer than the twin's own: a mark counted twice
        would count its volume twice in the participation fit)."""
        known = self.twin.engine.marks()
        for symbol, mark in marks.items():
            seen = known.get(symbol)
            if seen is None or mark.ts > seen.ts:
                self.marked(mark.to_dict())
