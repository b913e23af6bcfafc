"""The rows derived from the events, re-folded from them: orders, fills, intents, positions.

The events are the truth (and the chain vouches for them); every other table of the
record is what the engine derived from them in the same unit of work:

- an **order** row is its last event's view of the order (``views.order_view``), its
  ``submitted_at`` the time of its last ``orders.submitted`` event, and its
  ``intent_id`` and bracket offsets what its first event names;
- a **fill** row is the fill its execution report carries, under the order's terms,
  or its last bust or correction (``executions.busted`` / ``.corrected``) once amended;
- an **intent** row is the one its order's first event names, by id and by digest of
  its payload and payload hash (``chain.intent_digest``);
- a **position** is the positions at the newest purge (or the seal) with every fill
  after it folded on, in chain order, by the domain's own ``Position.apply_fill``; a
  bust or correction replays the position, and its event carries the position it left.

Orders, fills, intents and events are streamed in ``order_id`` order and merged, so
memory holds one order at a time; positions hold one entry per (account, symbol).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import groupby
from typing import Any

import orjson

from ordergate.domain.enums import OrderStatus, Side
from ordergate.domain.events import (
    EXECUTION_REPORT_TOPIC,
    FILL_BUSTED_TOPIC,
    FILL_CORRECTED_TOPIC,
    STATUS_TOPICS,
)
from ordergate.domain.idempotency import sent_key
from ordergate.domain.positions import Position
from ordergate.obs.findings import Problem, VerifyResult
from ordergate.store.chain import SPAN, intent_digest
from ordergate.store.chain_sources import ChainSource
from ordergate.store.rows import ORDER_COLUMNS, order_from_row
from ordergate.views import order_view

SUBMITTED_TOPIC = STATUS_TOPICS[OrderStatus.SUBMITTED]
#: the events that carry a fill as its row should stand
_FILL_TOPICS = frozenset({EXECUTION_REPORT_TOPIC, FILL_BUSTED_TOPIC, FILL_CORRECTED_TOPIC})
_TIMES = frozenset({"created_at", "updated_at", "submitted_at", "ts", "received_at"})
_DECIMALS = frozenset(
    {
        "qty",
        "filled_qty",
        "avg_fill_price",
        "fees",
        "limit_price",
        "stop_price",
        "arrival_price",
        "last_qty",
        "last_px",
        "commission",
        "realized_gross",
        "avg_price",
        "sl_offset_pct",
        "tp_offset_pct",
    }
)
_FILL_FIELDS: tuple[str, ...] = (
    "account_id",
    "strategy_id",
    "symbol",
    "side",
    "last_qty",
    "last_px",
    "commission",
    "realized_gross",
    "liquidity",
    "late",
    "ts",
)
_POSITION_FIELDS = ("qty", "avg_price", "realized_gross", "commission")


def verify_derived(source: ChainSource, result: VerifyResult) -> None:
    c = source.collate
    streams = [
        source.rows(
            "SELECT order_id, seq, topic, payload FROM order_events WHERE order_id IS NOT NULL"
            f" ORDER BY order_id{c}, seq"
        ),
        source.rows(
            f"SELECT order_id, {', '.join(ORDER_COLUMNS[1:])}, intent_id FROM orders"
            f" ORDER BY order_id{c}"
        ),
        source.rows(
            f"SELECT order_id, exec_id, {', '.join(_FILL_FIELDS)} FROM fills"
            f" ORDER BY order_id{c}, exec_id{c}"
        ),
        source.rows(
            "SELECT order_id, intent_id, account_id, idempotency_key, payload_hash, payload,"
            f" received_at FROM intents ORDER BY order_id{c}, intent_id{c}"
        ),
    ]
    merged = heapq.merge(*(_grouped(i, s) for i, s in enumerate(streams)))
    for order_id, parts in groupby(merged, key=lambda part: part[0]):
        groups: list[list[Sequence[Any]]] = [[], [], [], []]
        for _, index, rows in parts:
            groups[index] = rows
        _check_order(order_id, *groups, result=result)
    _check_positions(source, result)


def _grouped(
    index: int, rows: Iterator[Sequence[Any]]
) -> Iterator[tuple[str, int, list[Sequence[Any]]]]:
    for order_id, group in groupby(rows, key=lambda row: str(row[0])):
        yield order_id, index, list(group)


def _check_order(
    order_id: str,
    events: list[Sequence[Any]],
    orders: list[Sequence[Any]],
    fills: list[Sequence[Any]],
    intents: list[Sequence[Any]],
    *,
    result: VerifyResult,
) -> None:
    if not events:
        for kind, rows in (("order_row", orders), ("fill_row", fills), ("intent_row", intents)):
            if rows:
                result.add(Problem(kind, 0, order_id, "a row that no event of the chain records"))
        return
    payloads = [orjson.loads(str(row[3])) for row in events]
    last, last_seq, first_seq = payloads[-1], int(events[-1][1]), int(events[0][1])
    created = next((p for p in payloads if "intent_id" in p), None)
    if not orders:
        result.add(Problem("order_row", last_seq, order_id, "the order's row was removed"))
    else:
        row = orders[0]
        order = order_from_row(row[: len(ORDER_COLUMNS)])
        actual = order_view(order)
        expected = dict(last)
        actual["submitted_at"] = order.submitted_at
        expected["submitted_at"] = next(
            (p["ts"] for p in reversed(payloads) if p.get("topic") == SUBMITTED_TOPIC), None
        )
        if created is not None:  # what the order's first event fixed
            actual["intent_id"] = row[len(ORDER_COLUMNS)]
            actual["sl_offset_pct"] = order.sl_offset_pct
            actual["tp_offset_pct"] = order.tp_offset_pct
            for name in ("intent_id", "sl_offset_pct", "tp_offset_pct"):
                if name in created:
                    expected[name] = created[name]
        diffs = _diffs(actual, expected, actual.keys())
        if diffs:
            result.add(
                Problem("order_row", last_seq, order_id, f"differs from its events: {diffs}")
            )
    _check_fills(order_id, payloads, events, fills, last, result)
    _check_intents(order_id, created, first_seq, last, intents, result)


def _check_fills(
    order_id: str,
    payloads: list[dict[str, Any]],
    events: list[Sequence[Any]],
    fills: list[Sequence[Any]],
    terms: dict[str, Any],
    result: VerifyResult,
) -> None:
    recorded: dict[str, tuple[int, dict[str, Any]]] = {}
    for row, payload in zip(events, payloads, strict=True):
        if row[2] in _FILL_TOPICS and isinstance(payload.get("fill"), dict):
            fill = {k: v for k, v in payload["fill"].items() if k != "busted"}
            recorded[str(fill["exec_id"])] = (int(row[1]), fill)
    stored = {str(r[1]): dict(zip(_FILL_FIELDS, r[2:], strict=True)) for r in fills}
    for exec_id, (seq, fill) in recorded.items():
        found = stored.pop(exec_id, None)
        if found is None:
            result.add(Problem("fill_row", seq, order_id, f"fill {exec_id} was removed"))
            continue
        expected = {k: terms.get(k) for k in ("account_id", "strategy_id", "symbol", "side")}
        diffs = _diffs(found, {**expected, **fill}, _FILL_FIELDS)
        if diffs:
            result.add(Problem("fill_row", seq, order_id, f"fill {exec_id} differs: {diffs}"))
    for exec_id in stored:
        result.add(Problem("fill_row", 0, order_id, f"fill {exec_id} is recorded by no event"))


def _check_intents(
    order_id: str,
    created: dict[str, Any] | None,
    first_seq: int,
    terms: dict[str, Any],
    intents: list[Sequence[Any]],
    result: VerifyResult,
) -> None:
    if created is None:  # an order from before its events named their intent
        return
    if not intents:
        result.add(Problem("intent_row", first_seq, order_id, "the order's intent was removed"))
        return
    for intent_id, account_id, key, payload_hash, payload, received_at in (r[1:] for r in intents):
        actual = {
            "intent_id": intent_id,
            "account_id": account_id,
            "idempotency_key": sent_key(str(key)),  # a later attempt's row: key + "\x1e" + n
            "created_at": received_at,
            "intent_digest": intent_digest(str(payload_hash), str(payload)),
        }
        expected = {k: terms.get(k) for k in ("account_id", "idempotency_key", "created_at")}
        expected["intent_id"] = created["intent_id"]
        if "intent_digest" in created:
            expected["intent_digest"] = created["intent_digest"]
        diffs = _diffs(actual, expected, actual.keys())
        if diffs:
            result.add(Problem("intent_row", first_seq, order_id, f"differs: {diffs}"))


def _check_positions(source: ChainSource, result: VerifyResult) -> None:
    base_seq, base = result.baseline or (0, [])
    book: dict[tuple[str, str], Position] = {}
    for account_id, symbol, *values in base:
        amounts = [Decimal(str(v)) for v in values]
        book[(account_id, symbol)] = Position(
            account_id=account_id,
            symbol=symbol,
            qty=amounts[0],
            avg_price=amounts[1],
            realized_gross=amounts[2],
            commission=amounts[3],
        )
    heads = result.baseline_heads  # other partitions: their fills folded in up to there
    for seq, payload in source.rows(
        "SELECT seq, payload FROM order_events WHERE topic IN (?, ?, ?) AND seq > ? ORDER BY seq",
        (EXECUTION_REPORT_TOPIC, FILL_BUSTED_TOPIC, FILL_CORRECTED_TOPIC, base_seq),
    ):
        if heads and int(seq) <= heads.get(int(seq) // SPAN, 0):
            continue
        body = orjson.loads(str(payload))
        fill = body.get("fill")
        if not isinstance(fill, dict):
            continue
        key = (str(body["account_id"]), str(body["symbol"]))
        left = body.get("position")
        if isinstance(left, dict):  # a bust or correction: the position it left
            qty, avg, gross, fees = (Decimal(str(left[f])) for f in _POSITION_FIELDS)
            book[key] = Position(
                account_id=key[0],
                symbol=key[1],
                qty=qty,
                avg_price=avg,
                realized_gross=gross,
                commission=fees,
            )
            continue
        position = book.setdefault(key, Position(account_id=key[0], symbol=key[1]))
        position.apply_fill(
            Side(body["side"]),
            Decimal(fill["last_qty"]),
            Decimal(fill["last_px"]),
            Decimal(fill["commission"]),
        )
    for account_id, symbol, *values in source.rows(
        "SELECT account_id, symbol, qty, avg_price, realized_gross, commission FROM positions"
    ):
        folded = book.pop((str(account_id), str(symbol)), None)
        name = f"{account_id}/{symbol}"
        if folded is None:
            result.add(Problem("position_row", 0, "", f"{name}: a position no fill made"))
            continue
        expected = {f: getattr(folded, f) for f in _POSITION_FIELDS}
        diffs = _diffs(dict(zip(_POSITION_FIELDS, values, strict=True)), expected, _POSITION_FIELDS)
        if diffs:
            result.add(
                Problem("position_row", 0, "", f"{name} differs from its fills folded: {diffs}")
            )
    for account_id, symbol in book:
        result.add(Problem("position_row", 0, "", f"{account_id}/{symbol}: the row was removed"))


def _diffs(actual: dict[str, Any], expected: dict[str, Any], fields: Any) -> str:
    """``field: row X, events Y`` for each of ``fields`` the events know and the row differs."""
    out = []
    for name in fields:
        if name in expected and _norm(name, actual.get(name)) != _norm(name, expected[name]):
            out.append(f"{name}: row {actual.get(name)!r}, events {expected[name]!r}")
    return "; ".join(out)


def _norm(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "late":
        return bool(value)
    if name in _TIMES:
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if name in _DECIMALS:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return str(value)
    return str(value)
