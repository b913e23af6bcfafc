"""Whether a rejection keeps its idempotency key (DESIGN.md, submit path step 2; the
error table's ``keeps_key`` column).

Validation errors and conditions a retry can cure before anything was sent (no market
data yet, a full queue, an open circuit) leave the key free: the same request sent
again is a new attempt; the earlier attempt stays in the append-only record. Every
other outcome keeps the key: the same request replays it.
"""

from __future__ import annotations

from typing import Any

from ordergate.bootstrap import build_runtime
from ordergate.config import load_settings
from ordergate.domain.enums import OrderStatus
from ordergate.domain.errors import ErrorCode
from ordergate.domain.idempotency import attempt_key, releases_key, sent_key
from tests.obs.chainkit import verify


def buy(qty: str = "10") -> dict[str, Any]:
    return {"idempotency_key": "k1", "symbol": "AAPL", "side": "BUY", "qty": qty}


def test_a_rejection_without_market_data_frees_the_key(tmp_path: Any) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'k.db'}")
    engine = build_runtime(settings).engine
    first = engine.submit(buy())
    assert first.status is OrderStatus.REJECTED
    assert first.error_code == "E_EXEC_NO_MARKET_DATA"
    engine.mark("AAPL", "100")
    second = engine.submit(buy())
    assert second.status is OrderStatus.FILLED
    assert not second.replayed
    assert second.order_id != first.order_id
    assert second.client_order_id != first.client_order_id  # a new id at the broker
    # the key now names the filled attempt: the same request replays it
    third = engine.submit(buy())
    assert third.replayed
    assert third.order_id == second.order_id
    # the first attempt stays in the record, under the key as it was sent
    assert engine.order(first.order_id).status is OrderStatus.REJECTED
    keys = {o.idempotency_key for o in engine.orders()}
    assert keys == {"k1"}
    # and the audit trail, derived rows included, still verifies
    assert verify(engine.store).ok  # type: ignore[arg-type]
    engine.store.close()


def test_a_rejection_that_keeps_the_key_replays(tmp_path: Any) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'k.db'}")
    engine = build_runtime(settings).engine
    engine.mark("AAPL", "100")
    first = engine.submit(buy("2000000"))  # over the default maximum quantity
    assert first.error_code == "E_RISK_MAX_QTY"
    again = engine.submit(buy("2000000"))
    assert again.replayed
    assert again.order_id == first.order_id
    engine.store.close()


def test_the_rule_is_the_error_table_s_column() -> None:
    for code in ErrorCode:
        assert releases_key(OrderStatus.REJECTED, code.name) is (not code.keeps_key)
    assert not releases_key(OrderStatus.FILLED, "E_EXEC_NO_MARKET_DATA")
    assert not releases_key(OrderStatus.REJECTED, "")
    assert sent_key(attempt_key("k", 3)) == "k"
    assert attempt_key("k", 1) == "k"
