"""One engine process taking the bus in (``risk.decision`` and ``market.*``) for the
kill test (``test_inbound_kill.py``), killed at will.

It runs :func:`ordergate.bus.inbound.consume_inbound` — what ``ordergate events
consume-bus`` runs — on a PostgreSQL store, with the engine's ``submit`` and ``mark``
journaled: a first line per life with the sequence numbers of the marks in effect at
start and their prices (``start``: from the store); one JSON line per decision submitted (``key``,
``order_id``, ``replayed``); one per mark that took effect here (``symbol``, ``seq``,
``last``) or was refused as not newer than the one in effect (``skipped``, ``seq``,
``in_effect``); each written and flushed
after the engine returned, so the journal shows what this process did, in order.
Decisions trade ``SPY``, marked here at start; the bus marks other symbols.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Mapping
from typing import Any, TextIO

from ordergate.brokers.paper import PaperBroker
from ordergate.bus.inbound import consume_inbound
from ordergate.bus.nats import NatsConfig, connect
from ordergate.domain.market import Mark
from ordergate.domain.report import ExecutionReport
from ordergate.engine.engine import ExecutionEngine
from ordergate.store.postgres import PostgresStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--nats", required=True)
    parser.add_argument("--process", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--ack-wait-s", type=float, default=2.0)
    args = parser.parse_args()

    engine = ExecutionEngine(PostgresStore(args.db, min_size=1, max_size=4), PaperBroker())
    engine.mark("SPY", "400")
    with open(args.journal, "a", encoding="utf-8") as journal:

        def line(data: dict[str, Any], out: TextIO = journal) -> None:
            out.write(json.dumps(data) + "\n")
            out.flush()

        marks = engine.marks().values()
        start = {m.symbol: [m.seq, str(m.last)] for m in marks if m.seq is not None}
        line({"start": start})  # what this life starts from: the store's marks

        def submit(intent: Mapping[str, Any]) -> ExecutionReport:
            report = engine.submit(intent)
            key = intent["idempotency_key"]
            line({"key": key, "order_id": report.order_id, "replayed": report.replayed})
            return report

        def mark(symbol: str, *, seq: int | None = None, **fields: Any) -> Mark:
            before = engine.current_mark(symbol.upper())
            in_effect = engine.mark(symbol, seq=seq, **fields)
            if in_effect.seq == seq and (before is None or before.seq != seq):
                line({"symbol": in_effect.symbol, "seq": seq, "last": str(in_effect.last)})
            else:  # older than the mark in effect: a redelivery or a late copy
                line({"skipped": symbol, "seq": seq, "in_effect": in_effect.seq})
            return in_effect

        async def run() -> None:
            config = NatsConfig(url=args.nats)
            nc = await connect(config, attempts=20)
            stop = asyncio.Event()  # never set: the test kills this process
            await consume_inbound(
                nc, submit, mark, config, stop, process=args.process, ack_wait_s=args.ack_wait_s
            )

        asyncio.run(run())


if __name__ == "__main__":
    main()
