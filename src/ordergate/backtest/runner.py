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

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import tee, zip_longest
from typing import TYPE_CHECKING, Any

from ordergate.backtest.book import Book
from ordergate.backtest.config import BacktestConfig, ProgressFn
from ordergate.backtest.profiles import EventProfiles
from ordergate.backtest.result import BacktestResult, build_result
from ordergate.backtest.spool import Spool
from ordergate.backtest.strategy import IntentMaker, StrategyFn
from ordergate.bootstrap import build_runtime
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SequentialIds, SimulatedClock
from ordergate.config import Settings, load_settings
from ordergate.domain.enums import OrderStatus, TradingMode
from ordergate.domain.errors import ConfigError
from ordergate.domain.market import Mark
from ordergate.domain.money import ZERO, fmt
from ordergate.engine.engine import ExecutionEngine
from ordergate.engine.ports import DirectCall
from ordergate.heap import FreezeLongLived
from ordergate.risk.config import RiskConfig
from ordergate.sim.data import Bar, MarketEvent, Quote, last_tick, missing_volume, with_bar_starts
from ordergate.sim.order import VenueOrder
from ordergate.store.backtest import BacktestStore
from ordergate.store.base import Store
from ordergate.store.memory import MemoryStore
from ordergate.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from ordergate.config import Settings


BACKTEST_STORE = ":backtest:"

__all__ = [
    "BACKTEST_STORE",
    "BacktestConfig",
    "BacktestRunner",
    "ProgressFn",
    "check_volume",
    "mark_fields",
    "scan",
]


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
        store = open_store(cfg.store_path)
        store.migrate()
        broker = PaperBroker(
            clock=clock,
            fill_model=cfg.costs().fills(),
            fee_model=cfg.costs().fees(),
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
        participation = cfg.costs().fills().participation
        # one pass over the data (a long series may be made as it is read)
        no_start, missing = scan(events, participation is not None)
        if no_start:
            events = with_bar_starts(events)
        no_volume = check_volume(events, participation, cfg, missing=missing)
        clock, engine, broker = self.build(events[0].ts)
        engine.algos.profiles = EventProfiles(events)  # VWAP learns from the data file
        total = len(events)
        book = Book(
            cash=cfg.starting_cash,
            keep_fills=cfg.detail,
            every=max(1, total // max(1, cfg.equity_points)),
        )
        # a bounded run spools what would grow with it (the round trips) to a file
        spool = Spool() if isinstance(engine.store, BacktestStore) else None
        if spool is not None:
            book.trips.sink = spool.add_trip
            broker.venue.retire_final(cfg.venue_keep_final, _first_price_to(spool))
        engine.subscribe("executions.report", book.on_fill)
        try:
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
                    spool=spool,
                )
        finally:
            if cfg.store_path not in (":memory:", BACKTEST_STORE):
                engine.store.close()  # a run on a file ends checkpointed: no WAL left behind


def _first_price_to(spool: Spool) -> Callable[[VenueOrder], None]:
    """What a retired venue order leaves for TCA: its first price, on the spool."""

    def keep(order: VenueOrder) -> None:
        if order.first_px is not None:
            spool.add_first_price(order.request.client_order_id, order.first_px)

    return keep


def open_store(path: str) -> Store:
    """``:backtest:`` the backtest store (bounded memory, a temporary file),
    ``:memory:`` the in-memory store, otherwise a fresh SQLite file."""
    if path == BACKTEST_STORE:
        return BacktestStore()
    if path == ":memory:":
        return MemoryStore()
    return SqliteStore(path)


def scan(events: Iterable[MarketEvent], volumes: bool = True) -> tuple[bool, int]:
    """One pass over ``events``: whether a bar has no ``start`` (for
    :func:`~ordergate.sim.data.with_bar_starts`), and (``volumes``) how many events
    have no volume (:func:`~ordergate.sim.data.missing_volume`)."""
    no_start = False
    missing = 0
    for event in events:
        if type(event) is Mark:  # the common event, its test inline
            if volumes and event.volume is None:
                missing += 1
            continue
        if type(event) is Bar and event.start is None:
            no_start = True
        if volumes and missing_volume(event):
            missing += 1
    return no_start, missing


def check_volume(
    events: Sequence[MarketEvent],
    participation: Decimal | None,
    cfg: BacktestConfig,
    *,
    missing: int | None = None,
) -> int:
    """How many events cannot be capped by ``participation`` for want of a volume;
    refuses the run when there are any, unless ``cfg.allow_missing_volume``.
    ``missing``: that count when already made (:func:`scan`)."""
    if participation is None:
        return 0
    if missing is None:
        missing = scan(events)[1]
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
        algo_tick = self.engine.algos.tick  # parent orders take their next step
        on_event = self.broker.on_event
        total = len(events)
        step = max(1, total // 200)
        next_progress = 0
        group: list[MarketEvent] = []
        # each event with the one after it (None after the last), each read once: a
        # series may make its events on demand
        mine, ahead = tee(events)
        next(ahead, None)
        for index, (event, following) in enumerate(zip_longest(mine, ahead)):
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
            if following is not None and following.ts == ts:
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
            algo_tick()
            sample(ts)
            tick()
            if on_progress is not None and index >= next_progress:
                on_progress(index + 1, total)
                next_progress = index + step
        book.finish(ts)
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
