"""What a backtest produces: summary, orders, fills, trades, positions, equity, TCA.

Everything is read back from the engine's store (orders, positions, intents) and from
the fills the engine published, so a backtest reports the same records paper and live
trading keep. ``trades`` are seed 002's rows (one per fill, with the intent's
attribution ids); ``round_trips`` the position's trips from flat to flat
(:mod:`~ordergate.backtest.roundtrips`). The summary holds the figures of
:mod:`~ordergate.backtest.performance`, the costs that applied (``config``), the
rejections by error code with the first message of each, and ``warnings`` (gates that
refused a large share of the orders, events traded without a volume cap).
:meth:`BacktestResult.to_json` is canonical — sorted keys, Decimals as text — so two
runs of the same inputs are byte-identical.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ordergate.backtest.book import Book
from ordergate.backtest.report import ReportData
from ordergate.backtest.spool import Spool, TripRows
from ordergate.backtest.tca import TcaTotals, order_cost
from ordergate.domain.money import BPS, fmt
from ordergate.domain.order import Order
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.backtest import BacktestStore
from ordergate.store.base import OrderQuery
from ordergate.views import order_view

if TYPE_CHECKING:
    from ordergate.backtest.config import BacktestConfig
    from ordergate.sim.venue import SimulatedVenue

ALL = 1 << 62
#: orders whose first prices are looked up together
CHUNK = 500
ATTRIBUTION = ("decision_id", "profile_version_id", "regime_id", "universe_id")
#: a warning when gates refused at least this share of the orders
REFUSED_WARNING = Decimal("0.25")
GATE_PREFIX = "E_RISK_"


@dataclass(slots=True)
class BacktestResult:
    summary: dict[str, Any]
    equity_curve: list[dict[str, Any]]
    positions: list[dict[str, Any]]
    tca: dict[str, Any]
    orders: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    #: a list, or (a long run's) :class:`~ordergate.backtest.spool.TripRows` read from file
    round_trips: Sequence[dict[str, Any]] = field(default_factory=list)
    #: per-order slippage in bps, for the report's histogram (floats: pixels)
    slippage_bps: Sequence[float] = field(default_factory=lambda: array("d"))
    first_slippage_bps: Sequence[float] = field(default_factory=lambda: array("d"))
    #: symbol -> (ts, price) samples, for the report (not in the JSON)
    prices: dict[str, list[tuple[str, Decimal]]] = field(default_factory=dict)
    #: the return of every period, for the report (not in the JSON)
    returns: Sequence[float] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "equity_curve": self.equity_curve,
            "positions": self.positions,
            "tca": self.tca,
            "orders": self.orders,
            "fills": self.fills,
            "trades": self.trades,
            "round_trips": list(self.round_trips),
        }

    def report_data(self) -> ReportData:
        """What the HTML report draws (:mod:`~ordergate.backtest.report`)."""
        return ReportData(
            summary=self.summary,
            curve=self.equity_curve,
            tca=self.tca,
            slippage_bps=self.slippage_bps,
            first_slippage_bps=self.first_slippage_bps,
            returns=self.returns,
            prices=self.prices,
            fills=self.fills,
            round_trips=self.round_trips,
        )

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent, separators=(",", ":"))


def _trades(engine: ExecutionEngine, book: Book) -> list[dict[str, Any]]:
    attribution: dict[str, dict[str, str]] = {}
    rows = []
    for fill in book.fills:
        if fill.order_id not in attribution:
            payload = engine.store.intent_payload(fill.order_id)
            data = json.loads(payload) if payload else {}
            attribution[fill.order_id] = {k: data.get(k) or "" for k in ATTRIBUTION}
        rows.append(
            {
                "trade_id": fill.exec_id,
                "timestamp": fill.ts,
                "ticker": fill.symbol,
                "direction": fill.side,
                "size": fmt(fill.last_qty),
                "price": fmt(fill.last_px),
                "order_id": fill.order_id,
                "strategy_id": fill.strategy_id,
                **attribution[fill.order_id],
            }
        )
    return rows


def _orders(engine: ExecutionEngine) -> Iterator[Order]:
    """Every order of the run by order id: streamed from the backtest store's file, or
    read whole from another store."""
    store = engine.store
    if isinstance(store, BacktestStore):
        return store.orders_by_id()
    orders = engine.orders(OrderQuery(limit=ALL))
    orders.sort(key=lambda o: o.order_id)
    return iter(orders)


def _firsts(
    venue: SimulatedVenue | None, spool: Spool | None
) -> Callable[[list[Order]], dict[str, Decimal]]:
    """The first price the venue saw for each of some orders (by client order id):
    from the venue's orders, or the spool for the orders it retired."""

    def firsts(orders: list[Order]) -> dict[str, Decimal]:
        found: dict[str, Decimal] = {}
        missing: list[str] = []
        venue_orders = {} if venue is None else venue.orders
        for order in orders:
            cid = order.client_order_id
            seen = venue_orders.get(cid)
            if seen is None:
                missing.append(cid)
            elif seen.first_px is not None:
                found[cid] = seen.first_px
        if missing and spool is not None:
            found.update(spool.first_prices(missing))
        return found

    return firsts


@dataclass(slots=True)
class _OrderPass:
    """One pass over the orders: counts, TCA, the histogram's values, the detail rows."""

    tca: TcaTotals
    keep_rows: bool
    orders: int = 0
    open: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    slippage: array[float] = field(default_factory=lambda: array("d"))
    first_slippage: array[float] = field(default_factory=lambda: array("d"))

    def run(
        self,
        orders: Iterable[Order],
        end_prices: dict[str, Decimal],
        firsts: Callable[[list[Order]], dict[str, Decimal]],
    ) -> None:
        chunk: list[Order] = []
        for order in orders:
            chunk.append(order)
            if len(chunk) >= CHUNK:
                self._chunk(chunk, end_prices, firsts(chunk))
                chunk = []
        self._chunk(chunk, end_prices, firsts(chunk))

    def _chunk(
        self, orders: list[Order], end_prices: dict[str, Decimal], firsts: dict[str, Decimal]
    ) -> None:
        first_of = firsts.get
        for order in orders:
            self.orders += 1
            if order.status.is_open:
                self.open += 1
            if self.keep_rows:
                self.rows.append(order_view(order))
            cost = order_cost(order, end_prices, first_of(order.client_order_id))
            if cost is None:
                continue
            self.tca.add(cost)
            versus_arrival, versus_first = cost.bps()
            if versus_arrival is not None:
                self.slippage.append(float(versus_arrival))
            if versus_first is not None:
                self.first_slippage.append(float(versus_first))


def build_result(
    engine: ExecutionEngine,
    book: Book,
    config: BacktestConfig,
    counts: dict[str, Any],
    *,
    events_count: int,
    strategy_id: str,
    venue: SimulatedVenue | None = None,
    no_volume: int = 0,
    spool: Spool | None = None,
) -> BacktestResult:
    end_prices = dict(book.last)
    positions = engine.positions()
    start, end = config.starting_cash, book.equity
    rejections = {code: counts["rejections"][code] for code in sorted(counts["rejections"])}

    orders = _OrderPass(TcaTotals(per_order=config.detail), keep_rows=config.detail)
    orders.run(_orders(engine), end_prices, _firsts(venue, spool))
    summary = {
        "strategy_id": strategy_id,
        "events": events_count,
        "orders": orders.orders,
        "rejected": counts["rejected"],
        "rejections": rejections,
        "fills": book.fill_count,
        "fees": fmt(book.fees),
        "starting_cash": fmt(start),
        "final_cash": fmt(book.cash),
        "final_equity": fmt(end),
        "pnl": fmt(end - start),
        "return_bps": fmt(((end - start) / start * BPS).quantize(Decimal("0.01")))
        if start
        else None,
        "max_drawdown": fmt(book.max_drawdown),
        "realized_pnl": fmt(sum((p.realized_pnl for p in positions), Decimal(0))),
        "open_orders": orders.open,
        "traded_notional": fmt(book.traded),
        **book.performance.summary(start, end, book.traded, config.risk_free_rate),
        **book.trips.stats(),
        "warnings": _warnings(counts, rejections, no_volume, events_count),
        "config": {
            **config.costs().effective(),
            "session_close": None
            if config.session is None
            else f"{config.session.close.isoformat('minutes')} {config.session.tz}",
            "allow_missing_volume": config.allow_missing_volume,
            "events_without_volume": no_volume,
            "starting_cash": fmt(config.starting_cash),
        },
    }
    result = BacktestResult(
        summary=summary,
        equity_curve=book.curve_rows(),
        positions=[
            {
                "account_id": p.account_id,
                "symbol": p.symbol,
                "qty": fmt(p.qty),
                "avg_price": fmt(p.avg_price),
                "realized_pnl": fmt(p.realized_pnl),
                "commission": fmt(p.commission),
                "last": fmt(end_prices.get(p.symbol)),
            }
            for p in positions
        ],
        tca=orders.tca.report(),
        slippage_bps=orders.slippage,
        first_slippage_bps=orders.first_slippage,
        round_trips=book.trips.rows() if spool is None else TripRows(spool),
        prices={
            symbol: [(t.isoformat(), px) for t, px in series]
            for symbol, series in book.prices.items()
        },
        returns=book.performance.returns,
    )
    if config.detail:
        result.orders = orders.rows
        result.fills = [f.to_dict() for f in book.fills]
        result.trades = _trades(engine, book)
    return result


def _warnings(
    counts: dict[str, Any], rejections: dict[str, dict[str, Any]], no_volume: int, events: int
) -> list[str]:
    out = []
    submitted = counts["submitted"]
    refused = sum(v["count"] for k, v in rejections.items() if k.startswith(GATE_PREFIX))
    if submitted and Decimal(refused) / submitted >= REFUSED_WARNING:
        top = max(
            (k for k in rejections if k.startswith(GATE_PREFIX)),
            key=lambda k: (rejections[k]["count"], k),
        )
        out.append(
            f"pre-trade gates refused {refused:,} of {submitted:,} orders "
            f"({Decimal(refused) * 100 / submitted:.1f} %), most of them {top} "
            f"({rejections[top]['count']:,}, the first: {rejections[top]['first_message']}): "
            "the result is mostly the gates', not the strategy's (see rejections; "
            "--no-risk runs without them)"
        )
    if no_volume:
        out.append(
            f"{no_volume:,} of {events:,} events had no volume: orders traded on them "
            "without the participation limit"
        )
    return out
