"""Hardening item 10: a configured engine id (``ORDERGATE_ENGINE_ID``).

A restarted process with the same id takes its own in-flight orders back at once (not
after its old leases expire); a second live process with the same id refuses to start;
a read-only database directory is named as such.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ordergate.bootstrap import build_engine, build_ownership, build_store
from ordergate.brokers.base import BrokerOrder, OrderRequest
from ordergate.clock import SimulatedClock
from ordergate.config import load_settings
from ordergate.domain.capabilities import BrokerCapabilities, ClientIdDedupe
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import BrokerTimeout, BrokerUnavailable, ConfigError
from ordergate.store.engine_lock import lock_engine_id, release_engine_id

from .fakes import ScriptedBroker

HOLD = """
import sys, time
from ordergate.store.engine_lock import lock_engine_id
lock_engine_id(sys.argv[1], sqlite_path=sys.argv[2], database_url="")
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_live_process_with_the_same_id_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "og.db")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, "desk-1", db], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match="in use by a live process") as refused:
            lock_engine_id("desk-1", sqlite_path=db, database_url="")
        assert f"pid {holder.pid}" in refused.value.message
        lock_engine_id("desk-2", sqlite_path=db, database_url="")  # another id is free
        release_engine_id("desk-2")
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
    lock_engine_id("desk-1", sqlite_path=db, database_url="")  # a killed holder frees it
    release_engine_id("desk-1")


@pytest.mark.postgres
def test_the_same_id_is_refused_on_postgresql() -> None:
    from .store.pg import fresh_schema, server_url

    try:
        with fresh_schema(server_url()) as url:
            lock_engine_id("pg-desk", sqlite_path=None, database_url=url)
            other = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys\nfrom ordergate.store.engine_lock import lock_engine_id\n"
                    "lock_engine_id('pg-desk', sqlite_path=None, database_url=sys.argv[1])",
                    url,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            assert other.returncode != 0
            assert "in use by a live process" in other.stderr
            release_engine_id("pg-desk")
    except OSError as exc:  # pragma: no cover - no server
        pytest.skip(f"PostgreSQL unavailable: {exc}")


class LostReply(ScriptedBroker):
    """Takes the order, loses the reply, and cannot be asked about it (a crash window)."""

    capabilities = BrokerCapabilities(dedupe=ClientIdDedupe.NEVER)

    def submit(self, request: OrderRequest) -> BrokerOrder:
        self.orders[request.client_order_id] = self.ack(request)
        raise BrokerTimeout("no answer in 2000 ms")

    def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        raise BrokerUnavailable("connection reset")


def _engine(settings: Any, broker: ScriptedBroker) -> Any:
    return build_engine(
        settings, store=build_store(settings), broker=broker, clock=SimulatedClock()
    )


@pytest.mark.parametrize("same_id", [True, False])
def test_a_restart_under_the_same_id_reclaims_its_orders_at_once(
    tmp_path: Path, same_id: bool
) -> None:
    base = {"database_url": f"sqlite:///{tmp_path / 'og.db'}", "lease_ttl_s": 30}
    first = load_settings(**base, engine_id="desk-1")
    clock = SimulatedClock()
    lost = LostReply(clock)
    engine = _engine(first, lost)
    engine.mark("AAPL", "100")
    ownership = build_ownership(first, engine)
    report = engine.submit({"idempotency_key": "k", "symbol": "AAPL", "side": "BUY", "qty": "5"})
    assert report.status is OrderStatus.SUBMITTED  # unknown: nobody could ask the broker
    ownership.heartbeat(force=True)  # its lease row is written, owned by desk-1
    # the process dies (the OS releases its lock); the broker has the order, filled
    release_engine_id("desk-1")
    engine.store.close()
    broker = ScriptedBroker(clock)
    broker.orders[report.client_order_id] = lost.orders[report.client_order_id]
    broker.fill(report.client_order_id, "5", "100", "E1")
    second = load_settings(**base, engine_id="desk-1" if same_id else "desk-9")
    restarted = _engine(second, broker)
    started = time.monotonic()
    recovered = build_ownership(second, restarted).heartbeat(force=True)
    status = restarted.order(report.order_id).status
    if same_id:
        assert recovered is not None
        assert status is OrderStatus.FILLED  # at once, with 30 s left on the old lease
        assert time.monotonic() - started < 5
    else:
        assert status is OrderStatus.SUBMITTED  # another owner waits for the lease to expire
    release_engine_id(second.engine_id or "")
    restarted.store.close()


def test_a_bad_engine_id_is_a_clear_settings_error() -> None:
    with pytest.raises(ConfigError, match="engine_id"):
        load_settings(engine_id="../etc")


def test_a_read_only_database_directory_is_named(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a read-only tmpfs")
    ro = tmp_path / "ro"
    ro.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)]
    if subprocess.run(mount, check=False).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        settings = load_settings(database_url=f"sqlite:///{ro / 'og.db'}")
        with pytest.raises(ConfigError, match="is not writable"):
            build_store(settings)
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)
