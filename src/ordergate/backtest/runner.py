"""The backtest runner: market data in, the live engine path, results out.

Nothing here fills an order or books a position. The runner builds the same object
graph as paper trading — :class:`~ordergate.engine.engine.ExecutionEngine` over a
store (SQLite, in memory or on a file) and the paper broker over the simulated venue —
with a :class:`~ordergate.clock.SimulatedClock` and :class:`~ordergate.clock.SequentialIds`,
and then, for each event in time order:

1. moves the clock to the event's time;
2. gives the event to the venue (bars, quotes, trades) and tells the engine the mark
   (``engine.mark``: the engine's arrival price and the gates' reference; for a plain
   mark this is also what reaches the venue). Fills arrive through the broker's
   listener, exactly as in paper trading;
3. asks the strategy, and submits what it answers through ``engine.submit`` — gates,
   state machine, store.

Because the venue trades an event before the strategy sees it and the backtest venue
never fills an order at the market that stood when it arrived (``fill_at_arrival``
off), a decision on an event can only trade on later events: no look-ahead. The same
data, strategy and seed give byte-identical results (:meth:`BacktestResult.to_json`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ordergate.backtest.book import Book
from ordergate.backtest.result import BacktestResult, build_result
from ordergate.backtest.strategy import IntentMaker, StrategyFn
from ordergate.bootstrap import build_runtime
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.config import Settings, load_settings
from ordergate.domain.enums import OrderStatus, TradingMode
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.ports import DirectCall
from ordergate.heap import FreezeLongLived
from ordergate.risk.config import RiskConfig
from ordergate.sim.data import Bar, MarketEvent, Quote, last_tick
from ordergate.sim.fees import fee_model_from_name
from ordergate.sim.latency import FixedLatency, LatencyModel, NoLatency, RandomLatency
from ordergate.sim.matching import fill_model_from_name
from ordergate.sim.tif import Session
from ordergate.store.base import Store
from ordergate.store.memory import MemoryStore
from ordergate.store.sqlite import SqliteStore

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestConfig:
    """How a backtest simulates. Every field has a default; see :mod:`ordergate.sim`.

    ``fill_model``: ``participation`` (5 bps, at most 10 % of each event's volume),
    ``fixed_bps``, ``bid_ask``, ``sqrt_impact`` or ``none``. ``latency_ms`` plus up to
    ``jitter_ms`` (drawn from ``random.Random(seed)``). ``store_path``: ``:memory:`` (the
    in-memory store) or a fresh SQLite file. ``detail`` puts every order, fill and trade
    row in the result. ``freeze_gc`` keeps the cycle collector off what the run has
    already built (:mod:`~ordergate.heap`); it changes no result.
    """

    fill_model: str = "participation"
    slippage_bps: Decimal = Decimal(5)
    participation: Decimal | None = None
    lot: Decimal = Decimal(1)
    fee_model: str = "per_share"
    latency_ms: int = 0
    jitter_ms: int = 0
    seed: int = 0
    session: Session | None = None
    starting_cash: Decimal = Decimal(1_000_000)
    store_path: str = ":memory:"
    detail: bool = True
    equity_points: int = 2000
    freeze_gc: bool = True

    def latency(self) -> LatencyModel:
        base = timedelta(milliseconds=self.latency_ms)
        if self.jitter_ms:
            jitter = timedelta(milliseconds=self.jitter_ms)
            return RandomLatency(base, jitter, random.Random(self.seed))
        return FixedLatency(base) if self.latency_ms else NoLatency()


class _Context:
    """What the strategy sees: the clock, the booked positions, the last prices."""

    def __init__(self, clock: SimulatedClock, book: Book) -> None:
        self._clock, self._book = clock, book

    @property
    def now(self) -> datetime:
        return self._clock.now()

    def position(self, symbol: str) -> Decimal:
        return self._book.position(symbol.upper())

    def last(self, symbol: str) -> Decimal | None:
        return self._book.last.get(symbol.upper())


def mark_fields(event: MarketEvent) -> tuple[Decimal, Decimal | None, Decimal | None, Any]:
    """(last, bid, ask, volume) the engine is told for ``event``."""
    if isinstance(event, Mark):
        return event.last, event.bid, event.ask, event.volume
    if isinstance(event, Bar):
        return event.close, None, None, event.volume
    if isinstance(event, Quote):
        return last_tick(event).price, event.bid, event.ask, None
    return event.price, None, None, event.size


class BacktestRunner:
    """Runs one strategy over one series of events through the engine.

    The engine, its risk desk, its cash ledger and equity feed come from the one
    composition root (:func:`ordergate.bootstrap.build_runtime`) under ``settings``
    (default: the settings of the environment, as paper trading reads them), with the
    backtest's ports: the simulated clock, sequential ids, the run's store, the paper
    broker over the simulated venue and a direct broker call (simulated time has no
    rate limit to wait for). ``risk`` replaces the settings' ``risk`` block.
    """

    def __init__(
        self,
        config: BacktestConfig | None = None,
        *,
        settings: Settings | None = None,
        risk: RiskConfig | None = None,
    ) -> None:
        self.config = config or BacktestConfig()
        base = settings or load_settings()
        self.settings = base.model_copy(update={"mode": TradingMode.BACKTEST})
        self.risk = risk

    def build(self, start: datetime) -> tuple[SimulatedClock, ExecutionEngine, PaperBroker]:
        """The object graph of a run: the paper-trading graph with simulated time."""
        cfg = self.config
        clock = SimulatedClock(start)
        store: Store = (
            MemoryStore() if cfg.store_path == ":memory:" else SqliteStore(cfg.store_path)
        )
        store.migrate()
        broker = PaperBroker(
            clock=clock,
            fill_model=fill_model_from_name(
                cfg.fill_model, bps=cfg.slippage_bps, participation=cfg.participation, lot=cfg.lot
            ),
            fee_model=fee_model_from_name(cfg.fee_model),
            starting_cash=cfg.starting_cash,
            latency=cfg.latency(),
            session=cfg.session,
            fill_at_arrival=False,
        )
        runtime = build_runtime(
            self.settings,
            store=store,
            broker=broker,
            clock=clock,
            ids=SequentialIds(),
            call_policy=DirectCall(),
            risk=self.risk,
            cash=cfg.starting_cash,
        )
        return clock, runtime.engine, broker

    def run(
        self,
        events: Sequence[MarketEvent],
        strategy: StrategyFn,
        *,
        strategy_id: str = "strategy",
        on_progress: ProgressFn | None = None,
    ) -> BacktestResult:
        cfg = self.config
        if not events:
            raise ValueError("a backtest needs at least one market event")
        clock, engine, broker = self.build(events[0].ts)
        total = len(events)
        book = Book(
            cash=cfg.starting_cash,
            keep_fills=cfg.detail,
            every=max(1, total // max(1, cfg.equity_points)),
        )
        engine.subscribe("executions.report", book.on_fill)
        try:
            with FreezeLongLived(cfg.freeze_gc) as freezer:
                counts = _Loop(clock, engine, broker, book, strategy_id, freezer).run(
                    events, strategy, on_progress
                )
                return build_result(
                    engine, book, cfg, counts, events_count=total, strategy_id=strategy_id
                )
        finally:
            if cfg.store_path != ":memory:":
                engine.store.close()  # a run on a file ends checkpointed: no WAL left behind


class _Loop:
    """One run's pass over its events (see the module docstring for the steps)."""

    def __init__(
        self,
        clock: SimulatedClock,
        engine: ExecutionEngine,
        broker: PaperBroker,
        book: Book,
        strategy_id: str,
        freezer: FreezeLongLived,
    ) -> None:
        self.clock, self.engine, self.broker, self.book = clock, engine, broker, book
        self.maker = IntentMaker(strategy_id)
        self.freezer = freezer

    def working(self) -> dict[str, Decimal]:
        """Signed quantity the open orders will still trade, by symbol (for targets)."""
        out: dict[str, Decimal] = {}
        for order in self.engine.store.open_orders():
            out[order.symbol] = out.get(order.symbol, ZERO) + order.leaves_qty * order.side.sign
        return out

    def run(
        self, events: Sequence[MarketEvent], strategy: StrategyFn, on_progress: ProgressFn | None
    ) -> dict[str, int]:
        book, broker, maker, working = self.book, self.broker, self.maker, self.working
        ctx = _Context(self.clock, book)
        # bound once: the loop runs once per event
        set_clock, mark, submit = self.clock.set, self.engine.mark, self.engine.submit
        sample, tick, last_prices = book.sample, self.freezer.tick, book.last
        submitted = rejected = 0
        total = len(events)
        step = max(1, total // 200)
        for index, event in enumerate(events):
            ts = event.ts
            set_clock(ts)
            if type(event) is Mark:
                last, bid, ask, volume = event.last, event.bid, event.ask, event.volume
            else:
                if not isinstance(event, Mark):
                    broker.on_event(event)
                last, bid, ask, volume = mark_fields(event)
            mark(event.symbol, last, bid, ask, volume)
            last_prices[event.symbol] = last
            answer = strategy(event, ctx)
            if answer:
                for intent in maker.intents(answer, ctx, working):
                    report = submit(intent)
                    submitted += 1
                    if report.status is OrderStatus.REJECTED:
                        rejected += 1
            sample(ts)
            tick()
            if on_progress is not None and index % step == 0:
                on_progress(index, total)
        book.finish(events[-1].ts)
        if on_progress is not None:
            on_progress(total, total)
        return {"submitted": submitted, "rejected": rejected}
