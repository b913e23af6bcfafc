"""The one composition root: settings in, a wired engine out (STYLE habit 5).

Tests build the same graph with fakes by passing their own parts.
"""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import structlog

from ordergate.brokers.base import BrokerAdapter, KillSwitchAware
from ordergate.brokers.paper import PaperBroker
from ordergate.brokers.registry import build_broker_from_registry
from ordergate.brokers.registry import load as load_adapter
from ordergate.bus.memory import Event, InProcessBus
from ordergate.clock import Clock, IdGenerator, SystemClock
from ordergate.config import Settings
from ordergate.domain.enums import TradingMode
from ordergate.domain.errors import ConfigError
from ordergate.domain.events import FILL_BUSTED_TOPIC, FILL_CORRECTED_TOPIC
from ordergate.engine.cash import CashLedger
from ordergate.engine.engine import EngineConfig, ExecutionEngine
from ordergate.engine.ports import BrokerCallPolicy, DirectCall, PreTradeCheck
from ordergate.obs.keys import audit_trail
from ordergate.obs.redact import Redactor
from ordergate.resilience.breaker import CircuitBreaker
from ordergate.resilience.escalation import BreakerEscalation, EscalationConfig
from ordergate.resilience.policy import ResilienceConfig, build_call_policy, build_retry
from ordergate.risk.broker_instruments import InstrumentSizes
from ordergate.risk.config import RiskConfig
from ordergate.risk.desk import RiskDesk
from ordergate.risk.killswitch import KillSwitchBoard
from ordergate.store.base import Store
from ordergate.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from ordergate.engine.ownership import Ownership
    from ordergate.engine.tracking import OrderTracker
    from ordergate.shadow.attach import Shadow
    from ordergate.shadow.twin import Twin

log = structlog.get_logger("ordergate.bootstrap")


#: CPython's own collector thresholds: the root tunes a collector still set to these
PYTHON_THRESHOLDS = (700, 10, 10)
#: What the root sets instead (issue 22: no full collection on the submit path). A young
#: collection every 700 net allocations as before (tens of microseconds); the middle one
#: every 100 of those instead of 10, so that fewer than one order in a thousand meets one
#: (p99.9 of an order's CPU time over 100,000 orders on the in-memory store: 0.6-0.8 ms,
#: against 2.0-2.2 ms at 10); the full one never by itself — it walks every object alive,
#: and an engine on the in-memory store keeps every order (1.8 s at 100,000 orders). The
#: submit path makes no reference cycles (``tests/test_collector.py``), so nothing of it
#: waits for a full collection; a process that makes cycles calls ``gc.collect()`` when
#: it can afford the pause (``serve`` collects once at start, ``ordergate.heap``).
ENGINE_THRESHOLDS = (700, 100, 1_000_000_000)


def quiet_collector() -> bool:
    """Set :data:`ENGINE_THRESHOLDS` when the collector has Python's defaults; leave a
    collector the application has tuned (or turned off) alone. True when it set them."""
    if not gc.isenabled() or gc.get_threshold() != PYTHON_THRESHOLDS:
        return False
    gc.set_threshold(*ENGINE_THRESHOLDS)
    return True


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
        if path != ":memory:":
            check_writable(Path(path))
        store = SqliteStore(
            path, synchronous=settings.sqlite_synchronous, audit=audit_trail(settings)
        )
    store.migrate()
    return store


def check_writable(path: Path) -> None:
    """Fail with a clear error when the SQLite file or its directory cannot be written:
    the store needs the file and its ``-wal`` and ``-shm`` companions beside it (a
    read-only directory otherwise ends in a lock timeout that blames a stale lock)."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.exists():
        return  # the store creates it (or says why it cannot)
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".ordergate-probe-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"the database directory {directory} is not writable ({exc.strerror}): ordergate "
            f"writes {path.name} and its -wal and -shm files there; choose a writable "
            "directory (database_url) or fix its permissions"
        ) from exc
    if path.exists():
        try:
            os.close(os.open(path, os.O_RDWR))
        except OSError as exc:
            raise ConfigError(
                f"the database file {path} is not writable ({exc.strerror}): fix its "
                "permissions or choose another database_url"
            ) from exc


def dry_run_settings(settings: Settings) -> Settings:
    """A dry run's settings: its own store (``dry_run_database_url``, by default the
    SQLite file beside the real one with ``.dryrun`` in its name), so that nothing it
    simulates touches the real orders, positions, cash or risk counters — and what it
    did survives a restart."""
    url = settings.dry_run_database_url
    if url is None:
        path = settings.sqlite_path
        if path is None:
            raise ConfigError(
                "dry_run on a PostgreSQL store needs its own dry_run_database_url "
                "(a dry run never writes into the real database)"
            )
        if path == ":memory:":
            url = "sqlite:///:memory:"
        else:
            real = Path(path)
            url = f"sqlite:///{real.with_name(real.stem + '.dryrun' + (real.suffix or '.db'))}"
    return settings.model_copy(update={"database_url": url})


def build_paper_broker(settings: Settings, clock: Clock, *, persistent: bool = True) -> PaperBroker:
    """The paper venue as the registry's ``paper`` plugin builds it (``persistent``
    off: its book in memory only, as a benchmark or a test wants)."""
    plugin = load_adapter("paper")
    broker = plugin.make(plugin.block(persistent=persistent), settings, clock)
    if not isinstance(broker, PaperBroker):  # pragma: no cover - a replaced paper plugin
        raise ConfigError("the 'paper' broker plugin does not build a PaperBroker")
    return broker


def build_broker(settings: Settings, clock: Clock) -> BrokerAdapter:
    """The adapter ``exec_broker_adapter`` names, from the ``ordergate.brokers`` entry
    points (a new adapter is one package and one registry line), checked against the
    mode and, in LIVE, against the account the broker reports."""
    return build_broker_from_registry(settings, clock)


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


#: Broker calls per second no engine can make: each costs the engine well over a
#: microsecond, so a throttle or rate limit at or above this never holds a call back.
UNREACHABLE_RATE = 1_000_000


def build_broker_policy(broker: BrokerAdapter, config: ResilienceConfig) -> BrokerCallPolicy:
    """The call policy around ``broker``: throttle, rate limit and circuit breaker — or a
    direct call where none of them can act: an in-process broker (the paper venue)
    cannot time out or be unavailable, so its breaker never opens, and a throttle and a
    rate limit raised to :data:`UNREACHABLE_RATE` or beyond (a benchmark's) never make
    a call wait. Configured limits an engine can reach are always kept."""
    in_process = isinstance(broker, PaperBroker)
    unreachable = (
        config.max_orders_per_min / 60 >= UNREACHABLE_RATE
        and config.requests_per_second >= UNREACHABLE_RATE
    )
    if in_process and unreachable:
        return DirectCall()
    return build_call_policy(broker.adapter_id, config)


def build_ownership(settings: Settings, engine: ExecutionEngine) -> Ownership:
    """This process's share of the open orders (leases in the engine's own store),
    under its configured ``engine_id`` (locked for the life of the process) or a name
    new at every start."""
    # ``serve`` and ``recover`` share open orders; a one-shot command does not (its
    # start-up skips the leases, the engine lock and the tracker: issue 21)
    import socket
    import time

    from ordergate.engine.ownership import Ownership
    from ordergate.store.engine_lock import lock_engine_id
    from ordergate.store.leases import leases_for

    if settings.engine_id is not None:
        lock_engine_id(
            settings.engine_id, sqlite_path=settings.sqlite_path, database_url=settings.database_url
        )
        owner = settings.engine_id
    else:
        owner = f"{socket.gethostname()}:{os.getpid()}:{int(time.time() * 1000)}"
    return Ownership(
        engine, leases_for(engine.store, owner), timedelta(seconds=settings.lease_ttl_s)
    )


def build_tracker(
    settings: Settings, engine: ExecutionEngine, ownership: Ownership | None = None
) -> OrderTracker:
    from ordergate.engine.tracking import OrderTracker, TrackingConfig  # serve's alone

    return OrderTracker(
        engine,
        TrackingConfig(
            poll_interval=settings.exec_poll_interval_ms / 1000,
            hard_timeout=settings.exec_hard_timeout_s,
        ),
        ownership=ownership,
    )


def build_risk_desk(
    settings: Settings,
    store: Store,
    clock: Clock,
    trading_day: Callable[..., str],
    *,
    cash: CashLedger | None = None,
    risk: RiskConfig | None = None,
    equity: Callable[[str], Decimal | None] | None = None,
    sizes: InstrumentSizes | None = None,
) -> RiskDesk:
    """The gate chain of every mode. With ``risk_enabled`` off only the gates no
    setting can turn off remain (expiry, kill switches, trading state). ``cash`` feeds
    buying power, ``equity`` the per-order notional limit (a share of equity),
    ``sizes`` (a broker that knows its instruments) tick and lot where no instrument
    is configured."""
    return RiskDesk(
        store,
        clock,
        risk or RiskConfig.from_mapping(settings.risk_mapping()),
        trading_day=trading_day,
        buying_power=None if cash is None else cash.cash,
        equity=equity,
        enabled=settings.risk_enabled,
        sizes=sizes,
    )


def build_desk(settings: Settings, store: Store, clock: Clock | None = None) -> RiskDesk:
    """The risk desk of :func:`build_runtime` on its own, for an operator's command (a
    kill switch, the trading state): the same switches, controls and limits, with no
    broker built — an operator's switch must work while the broker is down."""
    return build_risk_desk(
        settings, store, clock or SystemClock(), trading_day_in(settings.trading_timezone)
    )


def trading_day_in(timezone: str) -> Callable[[datetime], str]:
    """The trading day of an instant: its date in the trading time zone. The day is
    remembered for the rest of the quarter hour the instant falls in — every zone's
    offset is a whole number of quarter hours (India's +5:30, Nepal's +5:45), so no day
    starts inside one — since the equity feed asks it on every mark."""
    zone = ZoneInfo(timezone)
    remembered: list[Any] = [None, ""]  # (the quarter hour it holds for, the day)

    def trading_day(when: datetime) -> str:
        quarter = None
        if when.tzinfo is not None:
            quarter = when.replace(minute=when.minute - when.minute % 15, second=0, microsecond=0)
            if quarter == remembered[0]:
                return str(remembered[1])
        day = when.astimezone(zone).date().isoformat()
        if quarter is not None:
            remembered[0], remembered[1] = quarter, day
        return day

    return trading_day


def attach_risk(engine: ExecutionEngine, desk: RiskDesk) -> None:
    """Feed the desk what its armed breakers read, and only that: fills to the loss
    ledger while a breaker that counts them is armed (daily loss, losing streak, trade
    counts), and — while a drawdown limit is set — the account's equity (the cash
    ledger's cash plus positions at their marks) after every fill and every mark of a
    symbol it holds. The same in every mode: it follows the configuration alone."""

    def equity_after_fill(event: Event) -> None:
        account = str(event.payload.get("account_id", ""))
        value = engine.equity(account)
        if value is not None:
            desk.on_equity(value, account)

    def equity_after_mark(symbol: str) -> None:
        for account in engine.cash.holders(symbol):
            value = engine.equity(account)
            if value is not None:
                desk.on_equity(value, account)

    amended = (FILL_BUSTED_TOPIC, FILL_CORRECTED_TOPIC)  # a bust or correction moves both
    if desk.reads_fills:
        engine.subscribe("executions.report", desk.on_event)
        for topic in amended:
            engine.subscribe(topic, desk.on_amendment)
    if desk.reads_equity:
        engine.subscribe("executions.report", equity_after_fill)
        for topic in amended:
            engine.subscribe(topic, equity_after_fill)
        engine.on_marked(equity_after_mark)


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the composition root built: the engine and the parts an entry point drives
    (the desk's kill-switch board and controls, the cash ledger)."""

    settings: Settings
    engine: ExecutionEngine
    desk: RiskDesk | None
    #: the shadow twin (``ORDERGATE_SHADOW``): simulated fills beside the real ones
    shadow: Shadow | None = None

    @property
    def board(self) -> KillSwitchBoard | None:
        return None if self.desk is None else self.desk.board


def starting_cash(settings: Settings) -> Decimal:
    """Where the cash ledger starts: the paper account's cash; in LIVE ``account_equity``
    until the broker's own account is read (``ExecutionEngine.check_cash`` at start)."""
    if settings.mode is TradingMode.LIVE and not settings.dry_run:
        return settings.account_equity
    return settings.paper_starting_cash


def build_runtime(
    settings: Settings,
    *,
    store: Store | None = None,
    broker: BrokerAdapter | None = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    gates: PreTradeCheck | None = None,
    call_policy: BrokerCallPolicy | None = None,
    risk: RiskConfig | None = None,
    cash: Decimal | None = None,
) -> Runtime:
    """The one composition root. A mode differs only in the ports it is given: the
    clock, the id generator, the store and the broker (a backtest passes a simulated
    clock and venue; tests pass fakes). The gates, the trading day, the cash ledger
    and the equity feed are built here, the same way for every mode. ``gates``
    replaces the desk (a test's own check); ``risk`` replaces the settings' ``risk``
    block; ``cash`` the starting cash."""
    clock = clock or SystemClock()
    if settings.dry_run:
        settings = dry_run_settings(settings)
        if broker is None:  # the paper venue, simulating from the live marks
            broker = build_paper_broker(settings, clock)
    store = store or build_store(settings)
    broker = broker or build_broker(settings, clock)
    config = EngineConfig(
        mode=settings.mode,
        dry_run=settings.dry_run,
        trading_timezone=settings.trading_timezone,
        mark_max_age_s=settings.mark_max_age_s,
    )
    trading_day = trading_day_in(settings.trading_timezone)
    ledger = CashLedger(starting_cash(settings) if cash is None else cash)
    built: list[ExecutionEngine] = []  # the desk is built first; equity is the engine's

    def equity(account_id: str) -> Decimal | None:
        return built[0].equity(account_id) if built else None

    desk = None
    if gates is None:
        sizes = broker if isinstance(broker, InstrumentSizes) else None
        desk = build_risk_desk(
            settings,
            store,
            clock,
            trading_day,
            cash=ledger,
            risk=risk,
            equity=equity,
            sizes=sizes,
        )
        gates = desk
    resilience = resilience_config(settings, in_process=isinstance(broker, PaperBroker))
    engine = ExecutionEngine(
        store,
        broker,
        clock=clock,
        ids=ids,
        gates=gates,
        call_policy=call_policy or build_broker_policy(broker, resilience),
        retry=build_retry(resilience),
        bus=InProcessBus(settings.topic_prefix),
        config=config,
        adjuster=desk,
        redactor=Redactor(settings.secret_values()),
        instruments=desk,
        cash=ledger,
    )
    built.append(engine)
    if desk is not None and isinstance(broker, KillSwitchAware):
        broker.attach_kill_switches(desk.board)
    if desk is not None and settings.risk_enabled:  # the breakers read what it feeds
        attach_risk(engine, desk)
    escalate_breaker(settings, engine, desk)
    quiet_collector()
    shadow = None
    if settings.shadow:  # the twin is this root again, with its own store and no gates
        from ordergate.shadow.attach import attach_shadow

        shadow = attach_shadow(engine, build_twin(settings))
    return Runtime(settings, engine, desk, shadow)


def build_twin(
    settings: Settings, *, store: Store | None = None, broker: BrokerAdapter | None = None
) -> Twin:
    """Shadow mode's twin of the engine ``settings`` describe: this root again, with the
    twin's settings (its own store, paper, no risk), the paper venue on a clock that
    follows the real events, a gate that lets everything through (the twin mirrors what
    really went out; it decides nothing) and a direct broker call. ``store`` / ``broker``:
    a test's."""
    from ordergate.shadow.links import links_for
    from ordergate.shadow.twin import PassAllGates, ReplayClock, Twin, shadow_settings

    twin_settings = shadow_settings(settings)
    clock = ReplayClock()
    broker = broker or build_paper_broker(twin_settings, clock)
    runtime = build_runtime(
        twin_settings,
        store=store,
        broker=broker,
        clock=clock,
        gates=PassAllGates(),
        call_policy=DirectCall(),
    )
    links = links_for(runtime.engine.store, synchronous=twin_settings.sqlite_synchronous)
    return Twin(runtime.engine, links, clock)


def escalate_breaker(settings: Settings, engine: ExecutionEngine, desk: RiskDesk | None) -> None:
    """Every opening of the broker's circuit breaker is recorded through the outbox
    (``ops.broker.circuit_open``), and one that stays open past
    ``exec_breaker_kill_after_s`` trips a ``RISK_LIMIT`` kill switch (seed 000)."""
    breaker = getattr(engine.policy, "breaker", None)
    if isinstance(breaker, CircuitBreaker):
        breaker.add_listener(
            BreakerEscalation(
                None if desk is None else desk.board,
                engine.record_event,
                config=EscalationConfig(kill_after_s=settings.exec_breaker_kill_after_s or None),
            )
        )


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
    """The engine of :func:`build_runtime` (the public entry point)."""
    return build_runtime(
        settings,
        store=store,
        broker=broker,
        clock=clock,
        ids=ids,
        gates=gates,
        call_policy=call_policy,
    ).engine
