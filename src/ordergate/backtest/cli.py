"""``ordergate backtest`` and ``ordergate tca``; the main CLI adds them with :func:`register`.

``backtest --data FILE [--data FILE ...] --strategy module:object [cost flags] [--json]``
replays the files (bars, quotes, prints or marks; several files are merged by time)
through the engine (see :mod:`ordergate.backtest.runner`), prints a summary or the
whole result as JSON, writes an HTML report with ``--html``, and the trades (seed
002's rows) and round trips with ``--trades`` / ``--round-trips`` (CSV or Parquet).
Every cost has a flag, and a flag left out takes the value of the settings paper
trading reads (``ORDERGATE_FILL_MODEL``, ``ORDERGATE_SLIPPAGE_BPS``,
``ORDERGATE_FEE_*``, ``ORDERGATE_LATENCY_*``, …); the summary echoes what applied.
Long runs show a progress bar on stderr, so ``--json`` output on stdout stays clean.

``tca [--db FILE|URL] [--json] [--html FILE]`` analyses the orders in a store (a backtest
run with ``--db``, or a paper/live database; the configured one by default, SQLite or
PostgreSQL).

The runner, the data readers and the store are imported by the command that runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ordergate.sim.names import FEE_MODELS, FILL_MODELS

if TYPE_CHECKING:
    from ordergate.backtest.runner import ProgressFn
    from ordergate.sim.tif import Session

PROGRESS_FROM = 20_000


def _fail(exc: Exception, as_json: bool) -> None:
    """As every command prints a rejection (``ordergate.cli_kit``); a ``ValueError``
    of the data or an option is a setting with a bad value."""
    from ordergate.cli_kit import fail
    from ordergate.domain.errors import ConfigError, OrderGateError

    fail(exc if isinstance(exc, OrderGateError) else ConfigError(str(exc)), as_json)


def _choice(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if value is not None and value not in allowed:
        raise typer.BadParameter(f"{name} must be one of {', '.join(allowed)}")
    return value


def _dec(value: str | None, flag: str) -> Decimal | None:
    from ordergate.domain.errors import ConfigError

    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ConfigError(f"{flag} must be a number, got {value!r}") from None


def _session(close: str | None, tz: str | None) -> Session | None:
    from ordergate.domain.errors import ConfigError
    from ordergate.sim.tif import Session

    if close is None:
        return None
    try:
        when = time.fromisoformat(close)
    except ValueError:
        raise ConfigError(f"--session-close must be HH:MM, got {close!r}") from None
    return Session(close=when, tz=tz or "America/New_York")


def backtest(
    data: Annotated[
        list[Path], typer.Option("--data", help="Market data: CSV or Parquet (repeatable).")
    ],
    strategy: Annotated[str, typer.Option("--strategy", help="module:object")],
    fill_model: Annotated[
        str | None, typer.Option("--fill-model", help=", ".join(FILL_MODELS))
    ] = None,
    slippage_bps: Annotated[str | None, typer.Option("--slippage-bps")] = None,
    participation: Annotated[
        str | None, typer.Option("--participation", help="0.1 = 10 % of each event's volume")
    ] = None,
    lot: Annotated[str | None, typer.Option("--lot", help="Fill quantity step.")] = None,
    allow_missing_volume: Annotated[
        bool,
        typer.Option("--allow-missing-volume", help="Trade events without a volume uncapped."),
    ] = False,
    fee_model: Annotated[
        str | None, typer.Option("--fee-model", help=", ".join(FEE_MODELS))
    ] = None,
    fee_per_share: Annotated[str | None, typer.Option("--fee-per-share")] = None,
    fee_minimum: Annotated[str | None, typer.Option("--fee-minimum")] = None,
    fee_bps: Annotated[str | None, typer.Option("--fee-bps")] = None,
    fee_maker_bps: Annotated[str | None, typer.Option("--fee-maker-bps")] = None,
    fee_taker_bps: Annotated[str | None, typer.Option("--fee-taker-bps")] = None,
    fee_flat: Annotated[str | None, typer.Option("--fee-flat")] = None,
    latency_ms: Annotated[int | None, typer.Option("--latency-ms")] = None,
    jitter_ms: Annotated[int | None, typer.Option("--jitter-ms")] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    session_close: Annotated[
        str | None, typer.Option("--session-close", help="HH:MM: DAY orders expire there.")
    ] = None,
    session_tz: Annotated[str | None, typer.Option("--session-tz")] = None,
    risk_free_rate: Annotated[
        str | None, typer.Option("--risk-free-rate", help="Yearly, 0.04 = 4 %.")
    ] = None,
    starting_cash: Annotated[str | None, typer.Option("--starting-cash")] = None,
    symbol: Annotated[str | None, typer.Option("--symbol", help="When the file has none.")] = None,
    db: Annotated[
        str, typer.Option("--db", help="Store: :backtest:, :memory: or a new SQLite file.")
    ] = ":backtest:",
    risk: Annotated[bool, typer.Option("--risk/--no-risk", help="Run the pre-trade gates.")] = True,
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    trades: Annotated[
        Path | None, typer.Option("--trades", help="Write the trades rows: .csv or .parquet.")
    ] = None,
    round_trips: Annotated[
        Path | None, typer.Option("--round-trips", help="Write the round trips: .csv or .parquet.")
    ] = None,
    summary_only: Annotated[bool, typer.Option("--summary-only")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Replay market data through the engine with a strategy; report fills, P&L and costs."""
    from ordergate.backtest.data import load_many
    from ordergate.backtest.export import ROUND_TRIP_COLUMNS, TRADE_COLUMNS, write_rows
    from ordergate.backtest.report import render_html
    from ordergate.backtest.runner import BacktestConfig, BacktestRunner
    from ordergate.backtest.strategy import load_strategy
    from ordergate.config import load_settings
    from ordergate.domain.errors import OrderGateError

    _choice(fill_model, FILL_MODELS, "--fill-model")
    _choice(fee_model, FEE_MODELS, "--fee-model")
    try:
        name, fn = load_strategy(strategy)
        events = load_many(data, default_symbol=symbol)
        settings = load_settings(risk_enabled=risk)
        config = BacktestConfig.from_settings(
            settings,
            fill_model=fill_model,
            slippage_bps=_dec(slippage_bps, "--slippage-bps"),
            participation=_dec(participation, "--participation"),
            lot=_dec(lot, "--lot"),
            allow_missing_volume=allow_missing_volume or None,
            fee_model=fee_model,
            fee_per_share=_dec(fee_per_share, "--fee-per-share"),
            fee_minimum=_dec(fee_minimum, "--fee-minimum"),
            fee_bps=_dec(fee_bps, "--fee-bps"),
            fee_maker_bps=_dec(fee_maker_bps, "--fee-maker-bps"),
            fee_taker_bps=_dec(fee_taker_bps, "--fee-taker-bps"),
            fee_flat=_dec(fee_flat, "--fee-flat"),
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            seed=seed,
            session=_session(session_close, session_tz),
            risk_free_rate=_dec(risk_free_rate, "--risk-free-rate"),
            starting_cash=_dec(starting_cash, "--starting-cash"),
            store_path=db,
            detail=not summary_only or bool(trades) or bool(html),
        )
        runner = BacktestRunner(config, settings=settings)
        if len(events) >= PROGRESS_FROM:
            with _progress(len(events)) as advance:
                result = runner.run(events, fn, strategy_id=name, on_progress=advance)
        else:
            result = runner.run(events, fn, strategy_id=name)
        if html is not None:
            html.write_text(render_html(f"Backtest: {name}", result.report_data()), "utf-8")
        if trades is not None:
            write_rows(trades, result.trades, TRADE_COLUMNS)
        if round_trips is not None:
            write_rows(round_trips, result.round_trips, ROUND_TRIP_COLUMNS)
    except (OrderGateError, ValueError) as exc:
        _fail(exc, as_json)
        return
    if as_json:
        typer.echo(result.to_json(indent=2))
    else:
        _print_summary(result.summary, result.tca["overall"])


@contextmanager
def _progress(total: int) -> Iterator[ProgressFn]:
    """A rich progress bar on stderr; yields the runner's progress callback."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("backtest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("run", total=total)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


def _print_summary(summary: dict[str, Any], costs: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console()
    for warning in summary.get("warnings") or []:
        console.print(f"[bold yellow]warning[/bold yellow]: {warning}", highlight=False)
    for key, value in summary.items():
        if not isinstance(value, dict | list):
            console.print(f"{key:>22}: {value}", highlight=False)
    for key, value in (summary.get("annualisation") or {}).items():
        console.print(f"{'annualisation.' + key:>22}: {value}", highlight=False)
    for code, seen in (summary.get("rejections") or {}).items():
        console.print(
            f"{'rejected ' + code:>22}: {seen['count']} (first: {seen['first_message']})",
            highlight=False,
        )
    for key, value in (summary.get("config") or {}).items():
        console.print(f"{'cost.' + key:>22}: {value}", highlight=False)
    for key, value in costs.items():
        console.print(f"{'tca.' + key:>22}: {value}", highlight=False)


def tca(
    db: Annotated[
        str | None,
        typer.Option("--db", help="SQLite file or database URL (default: the configured one)."),
    ] = None,
    per_order: Annotated[bool, typer.Option("--per-order/--totals")] = True,
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Transaction cost analysis of the orders in a store: slippage, fees, shortfall."""
    from ordergate.backtest.report import ReportData, render_html
    from ordergate.backtest.tca import order_costs, slippage_values, tca_report
    from ordergate.bootstrap import build_store
    from ordergate.cli_kit import require_database
    from ordergate.config import load_settings
    from ordergate.domain.errors import OrderGateError
    from ordergate.store.base import OrderQuery

    try:
        url = None if db is None else (db if "://" in db else f"sqlite:///{db}")
        settings = load_settings(database_url=url)
        require_database(settings)
        store = build_store(settings)
    except OrderGateError as exc:
        _fail(exc, as_json)
        return
    try:
        orders = store.list_orders(OrderQuery(limit=1 << 62))
        prices = {symbol: mark.last for symbol, mark in store.marks().items()}
    finally:
        store.close()
    report = tca_report(orders, prices, per_order=per_order)
    if html is not None:
        costs = order_costs(orders, prices)
        data = ReportData(tca=report, slippage_bps=slippage_values(costs))
        html.write_text(render_html("Transaction costs", data), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        _print_summary({}, report["overall"])


def register(app: typer.Typer) -> None:
    """Add ``backtest`` and ``tca`` to the main command line."""
    app.command("backtest")(backtest)
    app.command("tca")(tca)
