"""Running the service: ``ordergate serve`` and a server thread for tests and benches.

:func:`build_service` is the service's composition: the engine and its risk desk from
the one root (:func:`ordergate.bootstrap.build_runtime`) — the kill-switch board the
routes set is the one the desk's gates check — the token (generated into a 0600 file
next to the database when none is configured) and the redactor that knows every
secret of the settings.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI

from ordergate.bootstrap import build_runtime
from ordergate.config import Settings
from ordergate.domain.enums import TradingMode
from ordergate.domain.errors import ConfigError
from ordergate.engine.engine import ExecutionEngine
from ordergate.obs.redact import Redactor
from ordergate.service.app import create_app

log = structlog.get_logger("ordergate.service")


@dataclass(frozen=True, slots=True)
class Service:
    app: FastAPI
    engine: ExecutionEngine
    redactor: Redactor
    token_file: Path | None
    #: the shadow twin, when ``ORDERGATE_SHADOW`` is on (closed before the engine's store)
    shadow: Any = None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret value in the settings (the API token, broker credentials …)."""
    return settings.secret_values()


def find_board(engine: ExecutionEngine) -> Any:
    """The kill-switch board behind the engine's gates (the risk desk's), if any."""
    return getattr(engine.gates, "board", None)


def _token(settings: Settings) -> tuple[str, Path | None]:
    if settings.api_token is not None and settings.api_token.get_secret_value():
        token = settings.api_token.get_secret_value()
        if len(token) < 16:
            raise ConfigError("api_token must be at least 16 characters")
        return token, None
    path = Path((settings.sqlite_path or "ordergate.db") + ".token")
    if settings.sqlite_path in (None, ":memory:"):
        path = Path("ordergate.token")
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token, path


def build_service(settings: Settings, *, host: str | None = None) -> Service:
    host = host or settings.api_host
    token, token_file = _token(settings)
    redactor = Redactor([token, *settings_secrets(settings)])
    runtime = build_runtime(settings)
    engine, board = runtime.engine, runtime.board
    # the broker's account is the truth of the cash in LIVE; elsewhere it is compared
    engine.check_cash(settings.account_id, calibrate=settings.mode is TradingMode.LIVE)
    app = create_app(
        engine,
        token=token,
        protect_reads=not is_loopback(host),
        board=board,
        redactor=redactor,
        max_body_bytes=settings.api_max_body_bytes,
    )
    return Service(app, engine, redactor, token_file, runtime.shadow)


def uvicorn_config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,  # our JSON logging (obs.logging) owns the handlers
        access_log=False,  # RequestLog writes one line per request instead
        ws="none",
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=2,
    )


@contextmanager
def server_thread(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` on a free port of ``host`` in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, host, port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            thread.join(0.01)
        if not server.started:
            raise RuntimeError("the server did not start")
        yield f"http://{host}:{port}"
    finally:
        ctx = getattr(app.state, "ctx", None)
        if ctx is not None:
            ctx.events.close()
        server.should_exit = True
        thread.join(10)
        sock.close()
