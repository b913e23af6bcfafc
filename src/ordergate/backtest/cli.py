"""``ordergate backtest`` and ``ordergate tca``; the main CLI adds them with :func:`register`.

``backtest --data FILE --strategy module:object [--fill-model ...] [--json]`` replays
the file through the engine (see :mod:`ordergate.backtest.runner`), prints a summary or
the whole result as JSON, and writes an HTML report with ``--html``. Long runs show a
progress bar on stderr, so ``--json`` output on stdout stays clean.

``tca [--db FILE|URL] [--json] [--html FILE]`` analyses the orders in a store (a backtest
run with ``--db``, or a paper/live database; the configured one by default, SQLite or
PostgreSQL).

The runner, the data readers and the store are imported by the command that runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ordergate.backtest.runner import ProgressFn

PROGRESS_FROM = 20_000
FILL_MODELS = ("participation", "fixed_bps", "bid_ask", "sqrt_impact", "none")
FEE_MODELS = ("per_share", "bps", "flat", "maker_taker", "tiered", "none")


def _fail(message: str, as_json: bool) -> None:
    from rich.console import Console
    from rich.markup import escape

    if as_json:
        typer.echo(json.dumps({"error": message}))
    else:
        Console(stderr=True).print(f"[red]error[/red]: {escape(message)}", highlight=False)
    raise typer.Exit(2)


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise typer.BadParameter(f"{name} must be one of {', '.join(allowed)}")
    return value


def backtest(
    data: Annotated[Path, typer.Option("--data", help="Market data: CSV or Parquet.")],
    strategy: Annotated[str, typer.Option("--strategy", help="module:object")],
    fill_model: Annotated[str, typer.Option("--fill-model", help=", ".join(FILL_MODELS))] = (
        "participation"
    ),
    slippage_bps: Annotated[str, typer.Option("--slippage-bps")] = "5",
    participation: Annotated[str | None, typer.Option("--participation", help="0.1 = 10 %")] = None,
    fee_model: Annotated[
        str, typer.Option("--fee-model", help=", ".join(FEE_MODELS))
    ] = "per_share",
    latency_ms: Annotated[int, typer.Option("--latency-ms")] = 0,
    jitter_ms: Annotated[int, typer.Option("--jitter-ms")] = 0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    symbol: Annotated[str | None, typer.Option("--symbol", help="When the file has none.")] = None,
    db: Annotated[str, typer.Option("--db", help="Store: :memory: or a new SQLite file.")] = (
        ":memory:"
    ),
    risk: Annotated[bool, typer.Option("--risk/--no-risk", help="Run the pre-trade gates.")] = True,
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    summary_only: Annotated[bool, typer.Option("--summary-only")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Replay market data through the engine with a strategy; report fills, P&L and costs."""
    from ordergate.backtest.data import load_events
    from ordergate.backtest.report import render_html
    from ordergate.backtest.runner import BacktestConfig, BacktestRunner
    from ordergate.backtest.strategy import load_strategy
    from ordergate.config import load_settings
    from ordergate.domain.errors import OrderGateError

    _choice(fill_model, FILL_MODELS, "--fill-model")
    _choice(fee_model, FEE_MODELS, "--fee-model")
    try:
        name, fn = load_strategy(strategy)
        events = load_events(data, default_symbol=symbol)
        config = BacktestConfig(
            fill_model=fill_model,
            slippage_bps=Decimal(slippage_bps),
            participation=None if participation is None else Decimal(participation),
            fee_model=fee_model,
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            seed=seed,
            store_path=db,
            detail=not summary_only,
        )
        runner = BacktestRunner(config, settings=load_settings(risk_enabled=risk))
        if len(events) >= PROGRESS_FROM:
            with _progress() as advance:
                result = runner.run(events, fn, strategy_id=name, on_progress=advance)
        else:
            result = runner.run(events, fn, strategy_id=name)
    except (OrderGateError, ValueError) as exc:
        _fail(str(exc), as_json)
        return
    if html is not None:
        page = render_html(
            f"Backtest: {name}",
            result.summary,
            result.equity_curve,
            result.tca,
            result.slippage_bps,
        )
        html.write_text(page, encoding="utf-8")
    if as_json:
        typer.echo(result.to_json(indent=2))
    else:
        _print_summary(result.summary, result.tca["overall"])


@contextmanager
def _progress() -> Iterator[ProgressFn]:
    """A rich progress bar on stderr; yields the runner's progress callback."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("backtest"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} events"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("run", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


def _print_summary(summary: dict[str, Any], costs: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console()
    for key, value in summary.items():
        if not isinstance(value, dict):
            console.print(f"{key:>14}: {value}", highlight=False)
    for key, value in costs.items():
        console.print(f"{'tca.' + key:>14}: {value}", highlight=False)


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
    from ordergate.backtest.report import render_html
    from ordergate.backtest.tca import order_costs, slippage_values, tca_report
    from ordergate.bootstrap import build_store
    from ordergate.config import load_settings
    from ordergate.domain.errors import OrderGateError
    from ordergate.store.base import OrderQuery

    try:
        url = None if db is None else (db if "://" in db else f"sqlite:///{db}")
        settings = load_settings(database_url=url)
        path = settings.sqlite_path
        if path is not None and path != ":memory:" and not Path(path).exists():
            _fail(f"no database at {path}: nothing has been recorded there yet", as_json)
        store = build_store(settings)
    except OrderGateError as exc:
        _fail(str(exc), as_json)
        return
    try:
        orders = store.list_orders(OrderQuery(limit=1 << 62))
        prices = {symbol: mark.last for symbol, mark in store.marks().items()}
    finally:
        store.close()
    report = tca_report(orders, prices, per_order=per_order)
    if html is not None:
        costs = order_costs(orders, prices)
        page = render_html("Transaction costs", {}, [], report, slippage_values(costs))
        html.write_text(page, encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        _print_summary({}, report["overall"])


def register(app: typer.Typer) -> None:
    """Add ``backtest`` and ``tca`` to the main command line."""
    app.command("backtest")(backtest)
    app.command("tca")(tca)
