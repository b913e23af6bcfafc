"""The bus in under a consumer kill (issue 24): two engine processes consume
``risk.decision`` and ``market.*`` on one PostgreSQL database; one is SIGKILLed in the
middle of the stream and started again under its name. Every decision takes effect
once (one order per key, created once); no mark is lost (the last of each symbol is in
effect in both processes and in the store), and none is applied out of order (each
process's journal shows every symbol's marks in rising stream order, across its two
lives)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from .conftest import NatsServer

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]
WORKER = str(Path(__file__).with_name("bus_worker.py"))
SYMBOLS = ("AAPL", "MSFT", "NVDA")
DECISIONS = 120
MARKS = 240


class Worker:
    """``bus_worker.py`` as process ``name``, its stderr kept in ``<name>.err``."""

    def __init__(self, pg_url: str, nats_url: str, name: str, tmp: Path) -> None:
        self.journal = tmp / f"{name}.jsonl"
        self.err = tmp / f"{name}.err"
        self._args = [sys.executable, WORKER, "--db", pg_url, "--nats", nats_url]
        self._args += ["--process", name, "--journal", str(self.journal), "--ack-wait-s", "2"]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.err.open("ab") as err:
            self.proc = subprocess.Popen(self._args, stdout=subprocess.DEVNULL, stderr=err)

    def kill(self) -> None:
        """SIGKILL: nothing after the line it is on runs."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


def journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]  # a torn last line


def in_effect(lines: list[dict[str, Any]]) -> dict[str, Decimal]:
    """The price of each symbol in effect in a process after its journal's lines."""
    prices: dict[str, Decimal] = {}
    for x in lines:
        if "start" in x:
            prices = {symbol: Decimal(last) for symbol, (_, last) in x["start"].items()}
        elif "symbol" in x:
            prices[x["symbol"]] = Decimal(x["last"])
    return prices


def wait_for(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def stream(i: int) -> tuple[str, bytes]:
    """The i-th message: decisions and marks interleaved; mark n of a symbol is priced
    100 + n, so its price says where it stands in the stream."""
    if i % 3 == 0 and i // 3 < DECISIONS:
        body = {"decision_id": f"dec-{i // 3}", "allowed": True}
        body["intent"] = {"symbol": "SPY", "side": "buy", "qty": "1"}
        return "ordergate.risk.decision", json.dumps(body).encode()
    n = i - min(i // 3 + 1, DECISIONS)  # marks so far
    symbol = SYMBOLS[n % len(SYMBOLS)]
    return f"ordergate.market.{symbol}", json.dumps({"last": str(100 + n)}).encode()


async def publish(nats_url: str, first: int, last: int, pause_every: int = 0) -> None:
    from ordergate.bus.nats import NatsConfig, connect, ensure_stream

    config = NatsConfig(url=nats_url)
    nc = await connect(config, attempts=10)
    js = nc.jetstream()
    await ensure_stream(js, config)
    for i in range(first, last):
        subject, data = stream(i)
        await js.publish(subject, data)
        if pause_every and i % pause_every == 0:
            await asyncio.sleep(0.02)  # a stream in time, so the kill lands inside it
    await nc.close()


async def consumers_ready(nats_url: str, names: list[str]) -> bool:
    from ordergate.bus.nats import NatsConfig, connect

    nc = await connect(NatsConfig(url=nats_url), attempts=10)
    js = nc.jetstream()
    try:
        for name in names:
            await js.consumer_info("ORDERGATE", name)
    except Exception:  # not there yet (or the stream is not): ask again
        return False
    finally:
        await nc.close()
    return True


def test_a_killed_consumer_loses_nothing_repeats_nothing_and_keeps_marks_in_order(
    pg_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    from ordergate.store.base import OrderQuery
    from ordergate.store.postgres import PostgresStore

    total = DECISIONS + MARKS
    asyncio.run(publish(nats_server.url, 0, 0))  # the stream
    workers = {name: Worker(pg_url, nats_server.url, name, tmp_path) for name in ("a", "b")}
    journals = {name: w.journal for name, w in workers.items()}
    for w in workers.values():
        w.start()
    try:
        durables = ["ordergate-risk-decisions", "ordergate-marks-a", "ordergate-marks-b"]
        wait_for(lambda: asyncio.run(consumers_ready(nats_server.url, durables)), 60, "consumers")
        half = total // 2
        asyncio.run(publish(nats_server.url, 0, half, pause_every=5))
        wait_for(lambda: len(journal(journals["a"])) >= 20, 60, "process a to take a share")
        workers["a"].kill()  # in the middle of the stream
        died_with = len(journal(journals["a"]))
        asyncio.run(publish(nats_server.url, half, total, pause_every=5))
        workers["a"].start()  # the same name: its marks consumer resumes

        last_mark = {SYMBOLS[n % len(SYMBOLS)]: Decimal(100 + n) for n in range(MARKS)}

        def settled() -> bool:
            for path in journals.values():
                marks = in_effect(journal(path))
                if {s: p for s, p in marks.items() if s in SYMBOLS} != last_mark:
                    return False
            keys = {x["key"] for p in journals.values() for x in journal(p) if "key" in x}
            return len(keys) == DECISIONS

        try:
            wait_for(settled, 90, "every decision and the last marks")
        except AssertionError:
            errors = {name: w.err.read_text()[-3000:] for name, w in workers.items()}
            raise AssertionError(f"not settled; stderr: {errors}") from None
    finally:
        for w in workers.values():
            w.kill()
    assert died_with < len(journal(journals["a"])), "the restarted process took part"

    lines = [x for path in journals.values() for x in journal(path)]
    decided = [x for x in lines if "key" in x]
    by_key: dict[str, set[str]] = {}
    for x in decided:
        by_key.setdefault(x["key"], set()).add(x["order_id"])
    assert len(by_key) == DECISIONS
    assert all(len(ids) == 1 for ids in by_key.values()), "one decision, two orders"
    fresh = Counter(x["key"] for x in decided if not x["replayed"])
    assert set(fresh.values()) <= {1}, "a decision created twice"
    assert {x["key"] for x in decided} == {f"risk-dec-{i}" for i in range(DECISIONS)}
    for name, path in journals.items():  # in order, in each process, across its lives
        lives: list[dict[str, list[int]]] = []
        for x in journal(path):
            if "start" in x:  # a life begins where the store stands
                lives.append({symbol: [seq] for symbol, (seq, _) in x["start"].items()})
            elif "symbol" in x:
                lives[-1].setdefault(x["symbol"], []).append(x["seq"])
        assert len(lives) == (2 if name == "a" else 1)
        for life in lives:
            for symbol, seqs in life.items():
                assert seqs == sorted(set(seqs)), f"{name}: {symbol} marks out of order"
        for symbol, seqs in lives[0].items():  # the second life never starts behind
            assert len(lives) == 1 or lives[1][symbol][0] >= seqs[-1]
    skipped = [x for x in lines if "skipped" in x]
    assert all(x["seq"] <= x["in_effect"] for x in skipped)
    print(f"marks refused as not newer than the one in effect: {len(skipped)}")

    store = PostgresStore(pg_url, min_size=1, max_size=2)
    try:
        assert len(store.list_orders(OrderQuery(limit=10 * DECISIONS))) == DECISIONS
        assert {s: m.last for s, m in store.marks().items() if s in SYMBOLS} == last_mark
    finally:
        store.close()
