"""The backtest runner: market data in, the live engine path, results out.

Nothing here fills an order or books a position. The runner builds the same object
graph as paper trading — :class:`~ordergate.engine.engine.ExecutionEngine` over a
store (SQLite, in memory or on a file) and the paper broker over the simulated venue —
with a :class:`~ordergate.clock.SimulatedClock` and :class:`~ordergate.clock.SequentialIds`,
and then, for each timestamp in time order:

1. moves the clock to it;
2. gives each of its events to the venue (bars, quotes, trades) and tells the engine
   the mark (``engine.mark``: the engine's arrival price and the gates' reference; for
   a plain mark this is also what reaches the venue, for the others the venue takes it
   as the event's echo and trades nothing more). Fills arrive through the broker's
   listener, exactly as in paper trading;
3. once every event of that time is in, asks the strategy about each, and submits
   what it answers through ``engine.submit`` — gates, state machine, store — counting
   rejections by error code.

The venue never fills an order at a price stamped at or before the time it arrived
(``fill_at_arrival`` off): a decision at ``t`` can only trade on later prices, whatever
the order of the file's rows at ``t`` — no look-ahead. Bars without a ``start`` get one
from the series' span first (:func:`~ordergate.sim.data.with_bar_starts`), so latency
trades a bar from the moment of arrival. The same data, strategy and seed give
byte-identical results (:meth:`BacktestResult.to_json`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ordergate.backtest.book import Book
from ordergate.backtest.gates import GatesFactory
from ordergate.backtest.result import BacktestResult, build_result
from ordergate.backtest.strategy import IntentMaker, StrategyFn
from ordergate.brokers.paper import PaperBroker
from ordergate.bus.memory import InProcessBus
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.domain.enums import OrderStatus, TradingMode
from ordergate.domain.errors import ConfigError
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO, fmt
from ordergate.engine.engine import EngineConfig, ExecutionEngine
from ordergate.heap import FreezeLongLived
from ordergate.risk.desk import RiskDesk
from ordergate.sim.costs import CostConfig
from ordergate.sim.data import Bar, MarketEvent, Quote, last_tick, missing_volume, with_bar_starts
from ordergate.sim.fees import fee_model_from_name
from ordergate.sim.latency import LatencyModel
from ordergate.sim.matching import fill_model_from_name
from ordergate.sim.tif import Session
from ordergate.store.base import Store
from ordergate.store.memory import MemoryStore
from ordergate.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from ordergate.config import Settings

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestConfig:
    """How a backtest simulates. Every field has a default; see :mod:`ordergate.sim`.

    The cost fields are those of :class:`~ordergate.sim.costs.CostConfig`, with the same
    defaults as the settings paper trading reads (:meth:`from_settings` takes them from
    there): ``fill_model`` ``fixed_bps`` (5 bps), ``bid_ask``, ``participation`` (5 bps,
    at most 10 % of each event's volume), ``sqrt_impact`` or ``none``; the ``fee_*``
    knobs of the ``fee_model``; ``latency_ms`` plus up to ``jitter_ms`` (drawn from
    ``random.Random(seed)``). Under a participation limit, data that does not say its
    volume is refused unless ``allow_missing_volume`` (then those events trade uncapped,
    and the summary says how many there were). ``session``: DAY orders expire at its
    close. ``risk_free_rate``: a yearly rate for Sharpe and Sortino. ``store_path``:
    ``:memory:`` (the in-memory store) or a fresh SQLite file. ``detail`` puts every
    order, fill and trade row in the result. ``freeze_gc`` keeps the cycle collector off
    what the run has already built (:mod:`~ordergate.heap`); it changes no result.
    """

    fill_model: str = "fixed_bps"
    slippage_bps: Decimal = Decimal(5)
    participation: Decimal | None = None
    lot: Decimal = Decimal(1)
    fee_model: str = "per_share"
    fee_per_share: Decimal = Decimal("0.005")
    fee_minimum: Decimal = Decimal("1.00")
    fee_bps: Decimal = Decimal(1)
    fee_maker_bps: Decimal = Decimal(1)
    fee_taker_bps: Decimal = Decimal(5)
    fee_flat: Decimal = Decimal(1)
    latency_ms: int = 0
    jitter_ms: int = 0
    seed: int = 0
    session: Session | None = None
    allow_missing_volume: bool = False
    risk_free_rate: Decimal = Decimal(0)
    starting_cash: Decimal = Decimal(1_000_000)
    store_path: str = ":memory:"
    detail: bool = True
    equity_points: int = 2000
    freeze_gc: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> BacktestConfig:
        """The costs and session the settings name (as paper reads them), then
        ``overrides`` (``None`` values are ignored: a CLI flag left out)."""
        costs = CostConfig.from_settings(settings)
        session = None
        if settings.paper_session_close is not None:
            session = Session(close=settings.paper_session_close, tz=settings.paper_session_tz)
        values: dict[str, Any] = {
            "fill_model": costs.fill_model,
            "slippage_bps": costs.slippage_bps,
            "participation": costs.participation,
            "lot": costs.lot,
            "fee_model": costs.fee_model,
            "fee_per_share": costs.fee_per_share,
            "fee_minimum": costs.fee_minimum,
            "fee_bps": costs.fee_bps,
            "fee_maker_bps": costs.fee_maker_bps,
            "fee_taker_bps": costs.fee_taker_bps,
            "fee_flat": costs.fee_flat,
            "latency_ms": costs.latency_ms,
            "jitter_ms": costs.jitter_ms,
            "seed": costs.seed,
            "session": session,
            "starting_cash": settings.paper_starting_cash,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def costs(self) -> CostConfig:
        return CostConfig(
            fill_model=self.fill_model,
            slippage_bps=self.slippage_bps,
            participation=self.participation,
            lot=self.lot,
            fee_model=self.fee_model,
            fee_per_share=self.fee_per_share,
            fee_minimum=self.fee_minimum,
            fee_bps=self.fee_bps,
            fee_maker_bps=self.fee_maker_bps,
            fee_taker_bps=self.fee_taker_bps,
            fee_flat=self.fee_flat,
            latency_ms=self.latency_ms,
            jitter_ms=self.jitter_ms,
            seed=self.seed,
        )

    def latency(self) -> LatencyModel:
        return self.costs().latency()


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
    """Runs one strategy over one series of events through the engine."""

    def __init__(self, config: BacktestConfig | None = None, *, gates: GatesFactory | None = None):
        self.config = config or BacktestConfig()
        self.gates = gates

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
        bus = InProcessBus()
        gates = None if self.gates is None else self.gates(clock, bus, store)
        engine = ExecutionEngine(
            store,
            broker,
            clock=clock,
            ids=SequentialIds(),
            gates=gates,
            bus=bus,
            config=EngineConfig(mode=TradingMode.BACKTEST),
            instruments=gates if isinstance(gates, RiskDesk) else None,  # ticks for brackets
        )
        return clock, engine, broker

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
        if any(type(e) is Bar and e.start is None for e in events):
            events = with_bar_starts(events)
        no_volume = check_volume(events, cfg.costs().fills().participation, cfg)
        clock, engine, broker = self.build(events[0].ts)
        _use_fee_schedule(broker, cfg)
        total = len(events)
        book = Book(
            cash=cfg.starting_cash,
            keep_fills=cfg.detail,
            every=max(1, total // max(1, cfg.equity_points)),
        )
        engine.subscribe("executions.report", book.on_fill)
        with FreezeLongLived(cfg.freeze_gc) as freezer:
            counts = _Loop(clock, engine, broker, book, strategy_id, freezer).run(
                events, strategy, on_progress
            )
            return build_result(
                engine,
                book,
                cfg,
                counts,
                events_count=total,
                strategy_id=strategy_id,
                venue=broker.venue,
                no_volume=no_volume,
            )


def _use_fee_schedule(broker: PaperBroker, cfg: BacktestConfig) -> None:
    """The fee model with every ``fee_*`` knob of ``cfg`` (:meth:`build` names the
    model only; the composition root is to pass ``cfg.costs().fees()`` itself)."""
    broker.venue.fee_model = cfg.costs().fees()


def check_volume(
    events: Sequence[MarketEvent], participation: Decimal | None, cfg: BacktestConfig
) -> int:
    """How many events cannot be capped by ``participation`` for want of a volume;
    refuses the run when there are any, unless ``cfg.allow_missing_volume``."""
    if participation is None:
        return 0
    missing = sum(1 for e in events if missing_volume(e))
    if missing and not cfg.allow_missing_volume:
        raise ConfigError(
            f"{missing:,} of {len(events):,} market events have no volume (or no bid/ask "
            f"size), so the participation limit of {fmt(participation * 100)} % cannot apply "
            "to them: add a volume column, choose a fill model without a limit "
            "(--fill-model fixed_bps), or pass --allow-missing-volume to trade them uncapped"
        )
    return missing


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
        self.submitted = self.rejected = 0
        self.rejections: dict[str, dict[str, Any]] = {}

    def working(self) -> dict[str, Decimal]:
        """Signed quantity the open orders will still trade, by symbol (for targets)."""
        out: dict[str, Decimal] = {}
        for order in self.engine.store.open_orders():
            out[order.symbol] = out.get(order.symbol, ZERO) + order.leaves_qty * order.side.sign
        return out

    def run(
        self, events: Sequence[MarketEvent], strategy: StrategyFn, on_progress: ProgressFn | None
    ) -> dict[str, Any]:
        """Every event of one timestamp reaches the venue and the engine before the
        strategy is asked about any of them: what it decides at ``t`` sees every price
        stamped ``t``, and (the venue's rule) trades on none of them, whatever the
        order of the rows at ``t``."""
        book = self.book
        ctx = _Context(self.clock, book)
        # bound once: the loop runs once per event
        set_clock, mark, send = self.clock.set, self.engine.mark, self._send
        sample, tick, last_prices = book.sample, self.freezer.tick, book.last
        on_event = self.broker.on_event
        total = len(events)
        last_index = total - 1
        step = max(1, total // 200)
        next_progress = 0
        group: list[MarketEvent] = []
        for index, event in enumerate(events):
            ts = event.ts
            if not group:
                set_clock(ts)
            if type(event) is Mark:
                last, bid, ask, volume = event.last, event.bid, event.ask, event.volume
            else:
                on_event(event)
                last, bid, ask, volume = mark_fields(event)
            mark(event.symbol, last, bid, ask, volume)
            last_prices[event.symbol] = last
            if index < last_index and events[index + 1].ts == ts:
                group.append(event)  # more at this time: decide once all are in
                continue
            if group:
                group.append(event)
                for one in group:
                    answer = strategy(one, ctx)
                    if answer:
                        send(answer, ctx, ts)
                group.clear()
            else:
                answer = strategy(event, ctx)
                if answer:
                    send(answer, ctx, ts)
            sample(ts)
            tick()
            if on_progress is not None and index >= next_progress:
                on_progress(index + 1, total)
                next_progress = index + step
        book.finish(events[-1].ts)
        if on_progress is not None:
            on_progress(total, total)
        return {
            "submitted": self.submitted,
            "rejected": self.rejected,
            "rejections": self.rejections,
        }

    def _send(self, answer: Any, ctx: _Context, ts: datetime) -> None:
        """Submit what the strategy answered; count rejections by code."""
        for intent in self.maker.intents(answer, ctx, self.working):
            report = self.engine.submit(intent)
            self.submitted += 1
            if report.status is OrderStatus.REJECTED:
                self.rejected += 1
                seen = self.rejections.get(report.error_code)
                if seen is None:
                    self.rejections[report.error_code] = {
                        "count": 1,
                        "first_message": report.error_message,
                        "first_at": ts.isoformat(),
                    }
                else:
                    seen["count"] += 1
