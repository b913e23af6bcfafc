"""``ordergate demo``: a scripted paper session a new user can read in one screen."""

from __future__ import annotations

from ordergate.domain.errors import OrderGateError
from ordergate.domain.money import fmt
from ordergate.engine.engine import ExecutionEngine


def run_demo(engine: ExecutionEngine) -> list[str]:
    """Mark prices, trade, replay a key, rest a limit and fill it; return what happened."""
    log: list[str] = []

    def say(line: str) -> None:
        log.append(line)

    engine.mark("AAPL", "150.00", bid="149.99", ask="150.01", volume="100000")
    engine.mark("MSFT", "410.00", bid="409.95", ask="410.05", volume="50000")
    say("marked AAPL 150.00 (149.99/150.01) and MSFT 410.00 (409.95/410.05)")

    buy = engine.submit(
        {"symbol": "AAPL", "side": "buy", "qty": "100", "type": "market", "key": "demo-1"}
    )
    say(f"buy 100 AAPL at market -> {buy.status} @ {fmt(buy.avg_price)} (fees {fmt(buy.fees)})")

    again = engine.submit(
        {"symbol": "AAPL", "side": "buy", "qty": "100", "type": "market", "key": "demo-1"}
    )
    same = "the same order, not a second trade" if again.order_id == buy.order_id else "A NEW ORDER"
    say(f"same key again -> {same}")

    try:
        engine.submit(
            {"symbol": "AAPL", "side": "buy", "qty": "200", "type": "market", "key": "demo-1"}
        )
    except OrderGateError as exc:
        say(f"same key, different order -> {exc.code.name}")

    limit = engine.submit(
        {
            "symbol": "AAPL",
            "side": "sell",
            "qty": "100",
            "type": "limit",
            "price": "152.00",
            "key": "demo-2",
        }
    )
    say(f"sell 100 AAPL limit 152.00 -> {limit.status} (resting)")
    engine.mark("AAPL", "152.50", bid="152.49", ask="152.51")
    filled = engine.report(limit.order_id)
    say(f"AAPL trades 152.50 -> the limit {filled.status} @ {fmt(filled.avg_price)}")

    short = engine.submit(
        {"symbol": "MSFT", "side": "sell", "qty": "10", "type": "market", "key": "demo-3"}
    )
    say(f"sell short 10 MSFT -> {short.status} @ {fmt(short.avg_price)}")
    engine.mark("MSFT", "405.00")
    say("MSFT marks down to 405.00: the short shows an unrealized gain")

    try:
        engine.submit({"symbol": "AAPL", "side": "buy", "qty": "-5", "key": "demo-4"})
    except OrderGateError as exc:
        say(f"bad input (qty -5) -> {exc.code.name}: {exc.message}")
    return log
