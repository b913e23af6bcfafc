"""``ordergate reconcile``: compare with the broker; list reports; record a resolution.

::

    ordergate reconcile [--json] [--exchange-url URL] [--account ID]   # run one, exit 1 on mismatch
    ordergate reconcile list [--json] [--limit N]                       # reports and resolutions
    ordergate reconcile resolve REPORT_ID --actor alice --action "…" [--note "…"]

Every command takes ``--db``. A refusal prints its error code and exits 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

from ordergate.domain.errors import OrderGateError

app = typer.Typer(
    help="Reconciliation with the broker, and people's resolutions of its reports.",
    invoke_without_command=True,
)

DbOption = Annotated[str | None, typer.Option("--db", help="SQLite file or database URL.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _settings(db: str | None) -> Any:
    from ordergate.config import load_settings

    if db is not None and "://" not in db:
        db = f"sqlite:///{db}"
    return load_settings(database_url=db)


def _guarded(as_json: bool, action: Callable[[], None]) -> None:
    try:
        action()
    except OrderGateError as exc:
        if as_json:
            typer.echo(json.dumps({"error": exc.to_dict()}, indent=2))
        else:
            typer.echo(f"{exc.code.name}: {exc.message}", err=True)
        raise typer.Exit(3 if exc.retryable else 2) from None


@app.callback(invoke_without_command=True)
def run(
    ctx: typer.Context,
    db: DbOption = None,
    exchange_url: Annotated[
        str | None, typer.Option(help="Reconcile against the exchange at this URL.")
    ] = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Compare orders, positions and SL/TP with the broker; list every mismatch.

    Exits 1 when a mismatch needs a person (``requires_manual_resolution``)."""
    if ctx.invoked_subcommand is not None:
        return
    from ordergate.bootstrap import build_engine
    from ordergate.brokers.exchange import ExchangeBroker
    from ordergate.engine.reconcile import reconcile

    broker = None
    if exchange_url:
        broker = ExchangeBroker(exchange_url, stream=False, account_id=account)
    engine = build_engine(_settings(db), broker=broker)
    try:
        report = reconcile(engine, account_id=account)
    finally:
        engine.store.close()
    data = report.to_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(f"{data['report_id']} {data['status']}: {len(data['mismatches'])} mismatch(es)")
        for m in data["mismatches"]:
            typer.echo(f"  {m['kind']}: {m['message']}")
    if report.requires_manual_resolution:
        raise typer.Exit(1)


@app.command("list")
def list_cmd(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The latest reports, newest first, each with the resolutions recorded for it."""
    from ordergate.bootstrap import build_store
    from ordergate.cli_common import require_database
    from ordergate.engine.reconcile_log import reconcile_log_for
    from ordergate.engine.resolutions import list_reports

    def show() -> None:
        settings = _settings(db)
        require_database(settings)  # a read: nothing there says so, creates nothing
        store = build_store(settings)
        try:
            reports = list_reports(reconcile_log_for(store), limit)
        finally:
            store.close()
        if as_json:
            typer.echo(json.dumps({"reports": reports}, indent=2))
            return
        for report in reports:
            state = "resolved" if report["resolved"] else (
                "needs a person" if report["requires_manual_resolution"] else "matched"
            )  # fmt: skip
            typer.echo(
                f"{report['report_id']} {report['created_at']} {report['status']} "
                f"{len(report['mismatches'])} mismatch(es), {state}"
            )
            for r in report["resolutions"]:
                note = f": {r['note']}" if r["note"] else ""
                typer.echo(f"  {r['resolved_at']} {r['actor']} {r['action']}{note}")

    _guarded(as_json, show)


@app.command("resolve")
def resolve_cmd(
    report_id: Annotated[str, typer.Argument(help="The report's id (rec_…).")],
    actor: Annotated[str, typer.Option("--actor", help="Who resolved it (recorded).")],
    action: Annotated[str, typer.Option("--action", help="What was done (recorded).")],
    note: Annotated[str, typer.Option("--note", help="Anything a reader should know.")] = "",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a person's resolution of a report (append-only; the report is unchanged)."""
    from ordergate.bootstrap import build_engine
    from ordergate.engine.resolutions import resolve_report

    def record() -> None:
        engine = build_engine(_settings(db))
        try:
            resolution = resolve_report(engine, report_id, actor=actor, action=action, note=note)
        finally:
            engine.store.close()
        if as_json:
            typer.echo(json.dumps(resolution.to_dict(), indent=2))
        else:
            typer.echo(
                f"{resolution.resolution_id}: {resolution.report_id} resolved by "
                f"{resolution.actor} ({resolution.action})"
            )

    _guarded(as_json, record)
