"""The gate rules of a parent order (issue 18): the parent is gated once as a whole —
its full size against size, notional and buying power, one trade against trade
counts — and its children pass the gates that change between slices."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ordergate.domain.enums import OrderStatus
from ordergate.risk.breakers import BreakerConfig
from ordergate.risk.config import RiskConfig
from ordergate.risk.desk import RiskDesk
from ordergate.risk.limits import InstrumentLimits, InstrumentSpec

from .kit import rig

TWAP = {"kind": "twap", "horizon_s": 100, "slices": 10}


def limits(**spec: object) -> RiskConfig:
    return RiskConfig(
        duplicate_guard=None,
        limits=InstrumentLimits(default=InstrumentSpec(**spec)),  # type: ignore[arg-type]
    )


def test_the_parents_full_size_meets_the_size_limit_once(tmp_path: Path) -> None:
    r = rig(tmp_path, limits(max_qty=Decimal(500)))
    report = r.submit(qty="1000", algo=TWAP)  # each slice (100) would pass alone
    assert report.status is OrderStatus.REJECTED
    assert report.error_code == "E_RISK_MAX_QTY"
    assert r.children(report.order_id) == []
    assert r.broker.submits == []
    # a parent within the limit is not refused again slice by slice
    ok = r.submit(idempotency_key="p2", qty="500", algo=TWAP)
    assert ok.status is OrderStatus.ACCEPTED
    assert [str(o.qty) for o in r.children(ok.order_id)] == ["50"]


def test_the_parents_full_notional_meets_the_notional_limit(tmp_path: Path) -> None:
    r = rig(tmp_path, limits(max_notional=Decimal(50_000)))
    report = r.submit(qty="1000", algo=TWAP)  # 100,000 at 100; a slice is 10,000
    assert report.status is OrderStatus.REJECTED
    assert report.error_code == "E_RISK_MAX_NOTIONAL"


def test_the_parents_full_size_meets_buying_power(tmp_path: Path) -> None:
    risk = RiskConfig(
        duplicate_guard=None,
        limits=InstrumentLimits(default=InstrumentSpec(max_notional_equity_pct=None)),
    )
    r = rig(tmp_path, risk)
    # the account's 1,000,000 cash cannot pay 20,000 x 100, though a slice (200,000) could
    report = r.submit(qty="20000", algo=TWAP)
    assert report.status is OrderStatus.REJECTED
    assert report.error_code == "E_RISK_BUYING_POWER"
    alone = r.engine.submit({"idempotency_key": "plain", "symbol": "AAPL", "side": "BUY",
                             "qty": "2000"})  # fmt: skip
    assert alone.status is not OrderStatus.REJECTED


def test_the_parent_counts_as_one_trade(tmp_path: Path) -> None:
    risk = RiskConfig(duplicate_guard=None, breakers=BreakerConfig(max_trades_per_day=2))
    r = rig(tmp_path, risk)
    pid = r.submit(qty="40", algo={"kind": "twap", "horizon_s": 40, "slices": 4}).order_id
    for _ in range(4):  # four children fill: not stopped by a limit of two trades
        [child] = r.working(pid)
        r.fill(child, str(child.qty))
        r.advance(10)
    assert r.engine.algos.report(pid).status is OrderStatus.FILLED
    desk = r.runtime.desk
    assert desk is not None
    today = r.clock.now().date().isoformat()
    assert desk.ledger.day("default", today).trades == 1
    # and so it stays for a desk rebuilt from the stored fills (a restart)
    rebuilt = RiskDesk(r.store, r.clock, risk, trading_day=lambda ts: ts.date().isoformat())
    assert rebuilt.ledger.day("default", today).trades == 1
    # one more plain order is the second trade; the third is refused
    plain = {"symbol": "AAPL", "side": "BUY", "qty": "1"}
    first = r.engine.submit({"idempotency_key": "t2", **plain})
    r.fill(r.engine.order(first.order_id), "1")
    refused = r.engine.submit({"idempotency_key": "t3", **plain})
    assert refused.error_code == "E_RISK_MAX_TRADES"


def test_children_pass_the_loss_breaker_between_slices(tmp_path: Path) -> None:
    risk = RiskConfig(duplicate_guard=None, breakers=BreakerConfig(max_daily_loss=Decimal(100)))
    r = rig(tmp_path, risk)
    # a losing round trip books a realized loss of 200 before the parent's second slice
    buy = r.engine.submit({"idempotency_key": "b", "symbol": "AAPL", "side": "BUY", "qty": "10"})
    r.fill(r.engine.order(buy.order_id), "10", "100")
    pid = r.submit(side="SELL", qty="20", algo={"kind": "twap", "horizon_s": 20, "slices": 2}
                   ).order_id  # fmt: skip
    [first] = r.working(pid)
    r.fill(first, "10", "80")  # closes the long at a loss of 200
    r.advance(10)
    second = r.children(pid)[-1]
    assert second.status is OrderStatus.REJECTED
    assert second.error_code == "E_RISK_DAILY_LOSS"
