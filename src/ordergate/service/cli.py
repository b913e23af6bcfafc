"""``ordergate serve``, ``ordergate audit verify`` and ``ordergate purge``.

The lead's CLI calls :func:`register` to add these. Heavy imports (FastAPI, uvicorn,
Prometheus) happen inside ``serve`` only, so the other commands — and the CLI's start
— do not need the ``service`` extra.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.util import find_spec
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # pydantic and the domain are imported by the command that runs
    from ordergate.config import Settings
    from ordergate.domain.errors import OrderGateError

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLite file or database URL (default ./ordergate.db)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _settings(db: str | None, **overrides: Any) -> Settings:
    from ordergate.config import load_settings

    if db is not None and "://" not in db:
        db = f"sqlite:///{db}"
    return load_settings(database_url=db, **overrides)


def _fail(exc: OrderGateError, as_json: bool = False) -> None:
    from ordergate.cli_kit import fail

    fail(exc, as_json)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``audit verify`` and ``purge`` to the ``ordergate`` app."""
    audit = typer.Typer(help="Check the audit trail.", no_args_is_help=True)
    app.add_typer(audit, name="audit")

    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Listen address (api_host).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (api_port).")] = None,
        db: DbOption = None,
    ) -> None:
        """Run the engine as a service: HTTP API, dashboard at /, SSE, /metrics."""
        from ordergate.domain.errors import OrderGateError

        try:
            settings = _settings(db, api_host=host, api_port=port)
            _serve(settings)
        except OrderGateError as exc:
            _fail(exc)

    @audit.command("verify")
    def verify(
        head: Annotated[
            str | None, typer.Option(help="A head hash recorded earlier that must still be there.")
        ] = None,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Walk the keyed hash chain of order events (SQLite or PostgreSQL); name any
        edited, removed, inserted, reordered or cut-off event, forged stub, anchor or
        seal, and any orders, fills, positions or intents row its events disagree with.

        Needs the audit key (ORDERGATE_AUDIT_KEY or the key file in audit_dir) and reads
        the head checkpoint beside it. Exits 0 when the chain holds, 1 when it does not.
        """
        _verify(db, head, as_json)

    @audit.command("partitions")
    def chain_partitions(
        count: Annotated[
            int | None,
            typer.Option(
                "--set",
                min=1,
                max=4096,
                help="Spread the accounts over this many chain partitions from now on "
                "(PostgreSQL; only while no other process writes, and only from 1).",
            ),
        ] = None,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Show (or set) how many partitions the event chain is spread over, and which
        hold events. Each partition has its own head, lock, checkpoint and relay cursor,
        so processes serving different accounts never wait on one chain."""
        _partitions(db, count, as_json)

    @app.command()
    def purge(
        orders_days: Annotated[
            int | None, typer.Option(min=1, help="Keep final orders (default 365 days).")
        ] = None,
        receipts_days: Annotated[
            int | None, typer.Option(min=1, help="Keep raw receipts (default 30 days).")
        ] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, remove nothing.")] = False,
        db: DbOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Apply retention: old final orders, fills and events; old raw receipts.

        Open orders are never touched; the audit chain is verified first and stays
        verifiable (the cut is anchored).
        """
        _purge(db, orders_days, receipts_days, dry_run, as_json)


def _verify(db: str | None, head: str | None, as_json: bool) -> None:
    from ordergate.cli_kit import require_database
    from ordergate.domain.errors import OrderGateError
    from ordergate.obs.audit import verify_chain
    from ordergate.obs.db import open_chain
    from ordergate.obs.keys import checkpoint_for, load_key

    try:
        settings = _settings(db)
        require_database(settings)  # nothing to verify: say so, create nothing
        _migrate(settings)  # a database opened with the key for the first time is sealed
        key = load_key(settings, create=False)
        checkpoint = None if key is None else checkpoint_for(settings, key)
        state = None if checkpoint is None else checkpoint.read()  # before the snapshot
        with open_chain(settings) as chain:
            result = verify_chain(chain, key=key, checkpoint=state, expected_head=head)
    except OrderGateError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for p in result.problems:
            typer.echo(f"{p.kind.upper()} seq={p.seq} order_id={p.order_id}: {p.detail}")
        if checkpoint is not None and result.checkpoint_seq is None:
            typer.echo(f"note: no head checkpoint at {checkpoint.path}: a cut tail goes unseen")
        verdict = "OK" if result.ok else f"BROKEN ({len(result.problems)} problems)"
        typer.echo(
            f"{verdict}: {result.checked} events checked from seq {result.anchor_seq}; "
            f"head seq={result.head_seq} hash={result.head_hash}; "
            f"checkpoint seq={result.checkpoint_seq}"
        )
    raise typer.Exit(0 if result.ok else 1)


def _purge_once(settings: Settings, dry_run: bool = False) -> dict[str, Any]:
    """Apply the configured retention to the configured database once (and to the
    shadow twin's, in shadow mode); what it removed."""
    from ordergate.obs.db import open_chain
    from ordergate.obs.retention import RetentionPolicy
    from ordergate.obs.retention import purge as run_purge

    policy = RetentionPolicy(
        orders_days=settings.retention_orders_days,
        receipts_days=settings.retention_receipts_days,
    )
    now = datetime.now(UTC)
    with open_chain(settings) as chain:
        removed = run_purge(chain, policy, now, dry_run=dry_run).to_dict()
    if settings.shadow:  # the twin's database: its orders and the marks it simulated on
        from ordergate.shadow.twin import shadow_settings

        with open_chain(shadow_settings(settings)) as chain:
            removed["shadow"] = run_purge(chain, policy, now, dry_run=dry_run).to_dict()
    return removed


class RetentionSchedule:
    """``serve``'s retention: ``purge_once`` at start, then every ``interval_s``, in a
    daemon thread, until :meth:`stop`. A purge that fails is logged and tried again at the
    next turn (retention refuses to cut a chain that does not verify)."""

    def __init__(self, purge_once: Callable[[], dict[str, Any]], interval_s: float) -> None:
        self._purge_once = purge_once
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self.runs = 0

    def start(self) -> None:
        if self.interval_s > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        import structlog

        log = structlog.get_logger("ordergate.retention")
        while not self._stop.is_set():
            try:
                removed = self._purge_once()
            except Exception as exc:  # a failed turn must not end the schedule
                log.error("scheduled retention failed", error=str(exc))
            else:
                log.info("scheduled retention", every_h=self.interval_s / 3600, **removed)
            self.runs += 1
            self._stop.wait(self.interval_s)


def _purge(
    db: str | None,
    orders_days: int | None,
    receipts_days: int | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    from ordergate.cli_kit import require_database
    from ordergate.domain.errors import OrderGateError
    from ordergate.obs.db import open_chain
    from ordergate.obs.keys import audit_trail
    from ordergate.obs.retention import RetentionPolicy
    from ordergate.obs.retention import purge as run_purge

    try:
        settings = _settings(
            db, retention_orders_days=orders_days, retention_receipts_days=receipts_days
        )
        require_database(settings)  # nothing to purge: say so, create nothing
        _migrate(settings)
        policy = RetentionPolicy(
            orders_days=settings.retention_orders_days,
            receipts_days=settings.retention_receipts_days,
        )
        trail = audit_trail(settings)
        checkpoint = None if trail is None else trail.checkpoint
        try:
            with open_chain(settings) as chain:
                result = run_purge(
                    chain,
                    policy,
                    datetime.now(UTC),
                    dry_run=dry_run,
                    key=None if trail is None else trail.key,
                    checkpoint=checkpoint,
                )
        finally:
            if checkpoint is not None:
                checkpoint.close()
    except OrderGateError as exc:
        _fail(exc, as_json)
        return
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        typer.echo(" ".join(f"{k}={v}" for k, v in result.to_dict().items()))


def _migrate(settings: Settings) -> None:
    """Bring the schema up to date (the chain's columns) before reading it."""
    from ordergate.bootstrap import build_store

    build_store(settings).close()


def _partitions(db: str | None, count: int | None, as_json: bool) -> None:
    from ordergate.bootstrap import build_store
    from ordergate.domain.errors import ConfigError, OrderGateError

    try:
        settings = _settings(db)
        if settings.sqlite_path is not None and count not in (None, 1):
            raise ConfigError(
                "a SQLite store keeps one chain (one process writes it at a time); chain "
                "partitions are for PostgreSQL: pip install 'ordergate[postgres]' and set "
                "ORDERGATE_DATABASE_URL=postgresql://…"
            )
        store = build_store(settings)
        try:
            partitions, holding = 1, [0]
            if settings.sqlite_path is None:
                from ordergate.store.postgres import PostgresStore  # type: ignore[import-not-found, unused-ignore]

                assert isinstance(store, PostgresStore)
                if count is not None:
                    store.set_chain_partitions(count)
                partitions, holding = store.chain_partitions(), store.event_partitions()
        finally:
            store.close()
    except OrderGateError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps({"partitions": partitions, "holding_events": holding}))
    else:
        typer.echo(f"{partitions} chain partition(s); holding events: {holding or 'none'}")


def _serve(settings: Settings) -> None:
    from ordergate.domain.errors import ConfigError

    missing = [m for m in ("fastapi", "uvicorn", "prometheus_client") if find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"ordergate serve needs the service extra ({', '.join(missing)} missing): "
            "pip install 'ordergate[service]'"
        )
    import structlog
    import uvicorn

    from ordergate.bootstrap import build_ownership, build_tracker
    from ordergate.heap import CollectorSchedule, freeze_startup
    from ordergate.obs.logging import configure_logging
    from ordergate.service.runner import build_service, uvicorn_config

    service = build_service(settings)
    configure_logging(service.redactor, level=settings.log_level)
    log = structlog.get_logger("ordergate.service")
    if service.token_file is not None:
        kept_in = str(service.token_file.resolve())  # a path, not the token: not masked
        log.warning("no api_token configured; generated one", kept_in=kept_in, mode="0600")
        typer.echo(
            f"API token generated and kept in {kept_in} (readable by you only); send it as "
            "'Authorization: Bearer <token>' to mutating routes, or set ORDERGATE_API_TOKEN",
            err=True,
        )
    log.info(
        "serving",
        url=f"http://{settings.api_host}:{settings.api_port}/",
        database=settings.sqlite_path or "postgresql",
        adapter=service.engine.broker.adapter_id,
        kill_switches=service.app.state.ctx.board is not None,
    )
    # startup recovery of the orders nobody else owns, then follow ours (and orphans)
    ownership = build_ownership(settings, service.engine)
    recovered = ownership.heartbeat(force=True)
    log.info("startup recovery", **(recovered.to_dict() if recovered else {"orders": 0}))
    tracker = build_tracker(settings, service.engine, ownership)
    tracker.start()
    service.engine.algos.start()  # parent orders (execution algorithms) take their steps
    retention = RetentionSchedule(
        lambda: _purge_once(settings), settings.retention_interval_h * 3600
    )
    retention.start()
    freeze_startup()  # what start-up built lives to the end: keep it out of collections
    collector = CollectorSchedule(settings.gc_collect_interval_s)
    collector.start()
    try:
        uvicorn.Server(uvicorn_config(service.app, settings.api_host, settings.api_port)).run()
    finally:
        collector.stop()
        retention.stop()
        service.engine.algos.stop()
        tracker.stop()
        if service.shadow is not None:
            service.shadow.close()
        service.engine.store.close()
