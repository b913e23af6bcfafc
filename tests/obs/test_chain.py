"""The chain's canonical form is fixed: a faster encoder must give the same bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from ordergate.store.chain import canonical_event, canonical_ts

T0 = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)


def reference(order_id: str | None, topic: str, to: str | None, payload: str) -> str:
    """The definition: stdlib JSON, sorted keys, compact, ASCII escapes."""
    record = {"order_id": order_id, "topic": topic, "from": None, "to": to, "ts": canonical_ts(T0)}
    head = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return f"{head}\n{payload}"


@given(st.one_of(st.none(), st.text()), st.text(), st.one_of(st.none(), st.text()), st.text())
@example("\x7f", "t", None, "")  # DEL: ASCII, yet escaped by the definition
@example("é", "t", "\x00", "")
def test_canonical_event_matches_the_definition(
    order_id: str | None, topic: str, to: str | None, payload: str
) -> None:
    got = canonical_event(order_id, topic, None, to, payload, T0)
    assert got == reference(order_id, topic, to, payload)
