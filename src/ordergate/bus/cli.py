"""``ordergate events …``: tail the stream, run the outbox relay, consume intents.

``register(app, build_engine, build_store)`` adds the ``events`` group to the main
command line (``cli.py`` hands it the composition root's builders, which sit above the
bus). The NATS client is imported only when one of these commands runs, so the base
install (without the ``nats`` extra) still starts.
"""

from __future__ import annotations

import hashlib
import json
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # asyncio (and ssl under it) is imported by the command that runs
    import asyncio

    from ordergate.config import Settings
    from ordergate.store.base import Store

#: ``build_engine(settings)``: the configured engine (``bootstrap.build_engine``).
EngineBuilder = Callable[["Settings"], Any]
#: ``build_store(settings)``: the configured store, migrated (``bootstrap.build_store``).
StoreBuilder = Callable[["Settings"], "Store"]

NatsOption = Annotated[
    str,
    typer.Option("--nats", envvar="ORDERGATE_NATS_URL", help="NATS server URL."),
]
DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="ORDERGATE_DATABASE_URL", help="SQLite file or database URL."),
]
PrefixOption = Annotated[
    str, typer.Option("--prefix", envvar="ORDERGATE_TOPIC_PREFIX", help="Subject prefix.")
]


_builders: list[tuple[EngineBuilder, StoreBuilder]] = []


def register(app: typer.Typer, build_engine: EngineBuilder, build_store: StoreBuilder) -> None:
    """Add the ``events`` command group to ``app``; the commands open the engine and the
    store with ``build_engine`` and ``build_store``."""
    _builders[:] = [(build_engine, build_store)]
    events = typer.Typer(help="Events on NATS JetStream.", no_args_is_help=True)
    events.command("tail")(tail)
    events.command("relay")(relay)
    events.command("consume-intents")(consume_intents)
    events.command("consume-bus")(consume_bus)
    app.add_typer(events, name="events")


def _build_engine(settings: Settings) -> Any:
    return _builders[0][0](settings)


def _build_store(settings: Settings) -> Store:
    return _builders[0][1](settings)


def store_id_for(database_url: str) -> str:
    """A stable name of the database, the first part of every message id.

    Derived from the URL without its password, so every relay configured for one
    database agrees; ``--store-id`` overrides it (e.g. when hosts name it differently).
    """
    url = database_url
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        url = f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return "og-" + hashlib.sha256(url.encode()).hexdigest()[:12]


def _nats_config(url: str, prefix: str) -> Any:
    try:
        from ordergate.bus.nats import NatsConfig
    except ImportError as exc:
        raise typer.BadParameter(
            "NATS needs the nats extra: pip install 'ordergate[nats]'"
        ) from exc
    return NatsConfig(url=url, prefix=prefix)


def _stop_on_signals() -> asyncio.Event:
    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def tail(
    nats_url: NatsOption = "nats://127.0.0.1:4222",
    prefix: PrefixOption = "ordergate.",
    subject: Annotated[
        str | None, typer.Option(help="Subject filter (default: every event).")
    ] = None,
    from_start: Annotated[bool, typer.Option(help="Replay the stream from its start.")] = False,
    count: Annotated[int, typer.Option(help="Stop after this many (0: never).")] = 0,
) -> None:
    """Print each event as one JSON line: its subject and payload."""
    import asyncio

    config = _nats_config(nats_url, prefix)
    from ordergate.bus.nats import tail as run_tail

    def show(subject: str, payload: Any) -> None:
        typer.echo(json.dumps({"subject": subject, "payload": payload}, default=str))

    async def main() -> None:
        await run_tail(
            config,
            show,
            subject=subject,
            from_start=from_start,
            count=count,
            stop=_stop_on_signals(),
        )

    try:
        asyncio.run(main())
    except ConnectionError as exc:  # no server there: say so, as a retry later can help
        typer.echo(f"{exc} (is nats-server running? --nats names it)", err=True)
        raise typer.Exit(3) from None


def relay(
    db: DbOption = None,
    nats_url: NatsOption = "nats://127.0.0.1:4222",
    prefix: PrefixOption = "ordergate.",
    consumer: Annotated[str, typer.Option(help="Name of this relay's cursor.")] = "nats",
    store_id: Annotated[
        str | None, typer.Option(help="Message id prefix (default: from the URL).")
    ] = None,
    batch: Annotated[int, typer.Option(help="Messages per round.")] = 256,
) -> None:
    """Publish the store's outbox to JetStream until stopped (SIGINT/SIGTERM)."""
    import asyncio

    config = _nats_config(nats_url, prefix)
    from ordergate.bus.nats import relay_to_jetstream
    from ordergate.bus.relay import RelayConfig
    from ordergate.config import load_settings

    settings = load_settings(database_url=db)
    store = _build_store(settings)
    relay_config = RelayConfig(
        consumer=consumer, store_id=store_id or store_id_for(settings.database_url), batch=batch
    )

    async def main() -> None:
        await relay_to_jetstream(store, config, _stop_on_signals(), relay_config)

    try:
        asyncio.run(main())
    finally:
        store.close()


def consume_intents(
    db: DbOption = None,
    nats_url: NatsOption = "nats://127.0.0.1:4222",
    prefix: PrefixOption = "ordergate.",
    durable: Annotated[str, typer.Option(help="Durable consumer name.")] = "ordergate-intents",
) -> None:
    """Submit intents that arrive on ``<prefix>intents.submit`` until stopped."""
    import asyncio

    config = _nats_config(nats_url, prefix)
    from ordergate.bus.nats import IntentConsumer, connect
    from ordergate.config import load_settings

    engine = _build_engine(load_settings(database_url=db))

    async def main() -> None:
        nc = await connect(config)
        try:
            await IntentConsumer(nc, engine.submit, config, durable=durable).run(_stop_on_signals())
        finally:
            await nc.close()

    try:
        asyncio.run(main())
    finally:
        engine.store.close()


def consume_bus(
    db: DbOption = None,
    nats_url: NatsOption = "nats://127.0.0.1:4222",
    prefix: PrefixOption = "ordergate.",
    process: Annotated[
        str | None,
        typer.Option(
            help="This process's name: its marks consumer's (default host-pid; the same "
            "name after a restart resumes where it stopped)."
        ),
    ] = None,
    ack_wait_s: Annotated[
        float | None,
        typer.Option(
            "--ack-wait-s",
            help="How long a message taken by a process that died waits before it is "
            "handed out again (default 60 s for decisions, 30 s for marks).",
        ),
    ] = None,
) -> None:
    """Submit allowed intents from ``<prefix>risk.decision`` (each by one consuming
    process) and take every mark from ``<prefix>market.<symbol>``, until stopped."""
    import asyncio
    import os
    import socket

    config = _nats_config(nats_url, prefix)

    from ordergate.bus.inbound import consume_inbound
    from ordergate.bus.nats import connect
    from ordergate.config import load_settings

    engine = _build_engine(load_settings(database_url=db))
    name = process or f"{socket.gethostname()}-{os.getpid()}"

    async def main() -> None:
        nc = await connect(config)
        try:
            stop = _stop_on_signals()
            await consume_inbound(
                nc, engine.submit, engine.mark, config, stop, process=name, ack_wait_s=ack_wait_s
            )
        finally:
            await nc.close()

    try:
        asyncio.run(main())
    finally:
        engine.store.close()
