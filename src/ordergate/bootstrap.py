"""The one composition root: settings in, a wired engine out (STYLE habit 5).

Tests build the same graph with fakes by passing their own parts.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from ordergate.brokers.base import BrokerAdapter
from ordergate.brokers.paper import PaperBroker
from ordergate.bus.memory import InProcessBus
from ordergate.clock import Clock, IdGenerator, SystemClock
from ordergate.config import Settings
from ordergate.domain.errors import ConfigError
from ordergate.engine.engine import EngineConfig, ExecutionEngine
from ordergate.engine.ownership import Ownership
from ordergate.engine.ports import BrokerCallPolicy, PreTradeCheck
from ordergate.engine.tracking import OrderTracker, TrackingConfig
from ordergate.obs.keys import audit_trail
from ordergate.obs.redact import Redactor
from ordergate.resilience.policy import ResilienceConfig, build_call_policy, build_retry
from ordergate.risk.config import RiskConfig
from ordergate.risk.desk import RiskDesk
from ordergate.sim.fees import fee_model_from_name
from ordergate.sim.fills import price_model_from_name
from ordergate.sim.tif import Session
from ordergate.store.base import Store
from ordergate.store.leases import leases_for
from ordergate.store.sqlite import SqliteStore


def build_store(settings: Settings) -> Store:
    path = settings.sqlite_path
    if path is None:
        try:
            from ordergate.store.postgres import PostgresStore  # type: ignore[import-not-found, unused-ignore]
        except ImportError as exc:
            raise ConfigError(
                "a postgresql:// database_url needs the PostgreSQL store: "
                "pip install 'ordergate[postgres]'"
            ) from exc
        store: Store = PostgresStore(settings.database_url, audit=audit_trail(settings))
    else:
        store = SqliteStore(
            path, synchronous=settings.sqlite_synchronous, audit=audit_trail(settings)
        )
    store.migrate()
    return store


def build_paper_broker(settings: Settings, clock: Clock, *, persistent: bool = True) -> PaperBroker:
    path = settings.sqlite_path
    state_file = None
    if persistent and path not in (None, ":memory:"):
        state_file = Path(str(path) + ".paper")
    return PaperBroker(
        clock=clock,
        price_model=price_model_from_name(
            settings.exec_slippage_model, settings.slippage_bps, settings.use_bid_ask_spread
        ),
        fee_model=fee_model_from_name(
            settings.fee_model,
            rate=settings.fee_per_share,
            minimum=settings.fee_minimum,
            bps=settings.fee_bps,
        ),
        starting_cash=settings.paper_starting_cash,
        state_file=state_file,
        session=(
            None
            if settings.paper_session_close is None
            else Session(close=settings.paper_session_close, tz=settings.paper_session_tz)
        ),
    )


def build_broker(settings: Settings, clock: Clock) -> BrokerAdapter:
    name = settings.exec_broker_adapter.lower()
    if name == "paper":
        return build_paper_broker(settings, clock)
    if name == "exchange":
        from ordergate.brokers.exchange import ExchangeBroker

        return ExchangeBroker(settings.exchange_url, timeout=settings.exec_timeout_ms / 1000)
    raise ConfigError(
        f"unknown broker adapter {settings.exec_broker_adapter!r}; available: paper, exchange"
    )


def resilience_config(settings: Settings, *, in_process: bool) -> ResilienceConfig:
    """The call policy's knobs; an in-process broker cannot hang, so it gets no timeout."""
    return ResilienceConfig(
        timeout_ms=None if in_process else settings.exec_timeout_ms,
        requests_per_second=settings.exec_requests_per_second,
        max_orders_per_min=settings.exec_max_orders_per_min,
        max_queue=settings.exec_max_queue,
        failure_threshold=settings.exec_breaker_failures,
        reset_timeout_s=settings.exec_breaker_reset_s,
        max_retries=settings.exec_max_retries,
        retry_base_delay_s=settings.exec_retry_base_delay_s,
    )


def build_ownership(settings: Settings, engine: ExecutionEngine) -> Ownership:
    """This process's share of the open orders (leases in the engine's own store)."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{int(time.time() * 1000)}"
    return Ownership(
        engine, leases_for(engine.store, owner), timedelta(seconds=settings.lease_ttl_s)
    )


def build_tracker(
    settings: Settings, engine: ExecutionEngine, ownership: Ownership | None = None
) -> OrderTracker:
    return OrderTracker(
        engine,
        TrackingConfig(
            poll_interval=settings.exec_poll_interval_ms / 1000,
            hard_timeout=settings.exec_hard_timeout_s,
        ),
        ownership=ownership,
    )


def build_risk_desk(
    settings: Settings, store: Store, clock: Clock, trading_day: Callable[..., str]
) -> RiskDesk:
    return RiskDesk(
        store,
        clock,
        RiskConfig.from_mapping(settings.risk_mapping()),
        trading_day=trading_day,
    )


def attach_risk(engine: ExecutionEngine, desk: RiskDesk, equity_base: Decimal) -> None:
    """Feed the desk: fills to the loss ledger, equity after every fill and mark."""

    def equity(_: object) -> None:
        desk.on_equity(equity_base + engine.equity_pnl())

    engine.subscribe("executions.report", desk.on_event)
    engine.subscribe("executions.report", equity)
    engine.subscribe("market.mark", equity)


def build_engine(
    settings: Settings,
    *,
    store: Store | None = None,
    broker: BrokerAdapter | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    gates: PreTradeCheck | None = None,
    call_policy: BrokerCallPolicy | None = None,
) -> ExecutionEngine:
    clock = clock or SystemClock()
    store = store or build_store(settings)
    config = EngineConfig(
        mode=settings.mode, dry_run=settings.dry_run, trading_timezone=settings.trading_timezone
    )
    zone = ZoneInfo(settings.trading_timezone)

    def trading_day(when: datetime) -> str:
        return when.astimezone(zone).date().isoformat()

    desk = None
    if gates is None and settings.risk_enabled:
        desk = build_risk_desk(settings, store, clock, trading_day)
        gates = desk
    broker = broker or build_broker(settings, clock)
    resilience = resilience_config(settings, in_process=isinstance(broker, PaperBroker))
    engine = ExecutionEngine(
        store,
        broker,
        clock=clock,
        ids=ids,
        gates=gates,
        call_policy=call_policy or build_call_policy(broker.adapter_id, resilience),
        retry=build_retry(resilience),
        bus=InProcessBus(settings.topic_prefix),
        config=config,
        adjuster=desk,
        redactor=Redactor(settings.secret_values()),
        instruments=desk,
    )
    if desk is not None:
        attach_risk(engine, desk, settings.account_equity)
    return engine
