"""The market-data port (issue 12, part 5): in LIVE, with no mark posted to the engine,
a market order passes the default gates on the broker's own quote."""

from __future__ import annotations

from pathlib import Path

from ordergate.bootstrap import build_runtime
from ordergate.brokers.exchange import ExchangeBroker
from ordergate.config import load_settings
from ordergate.domain.enums import OrderStatus, TradingMode
from ordergate.exchange.server import ExchangeServer


def test_a_live_market_order_passes_the_default_gates_on_the_broker_s_quote(
    exchange: ExchangeServer, tmp_path: Path
) -> None:
    venue = ExchangeBroker(exchange.url, stream=False)
    venue.mark("AAPL", "150", bid="149.99", ask="150.01")  # the venue's market, not ours
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'live.db'}",
        mode=TradingMode.LIVE,
        exec_broker_adapter="exchange",
        exchange_url=exchange.url,
    )
    runtime = build_runtime(settings)
    engine = runtime.engine
    assert engine.marks() == {}
    report = engine.submit({"idempotency_key": "m1", "symbol": "AAPL", "side": "BUY", "qty": "10"})
    assert report.status is OrderStatus.FILLED, report.to_dict()
    assert engine.marks()["AAPL"].last == 150
    assert engine.order(report.order_id).arrival_price == 150  # slippage has its reference
    # a symbol the venue has no market in: the gates say so, nothing is guessed
    refused = engine.submit({"idempotency_key": "m2", "symbol": "ZZZ", "side": "BUY", "qty": "1"})
    assert refused.status is OrderStatus.REJECTED
    assert refused.error_code == "E_EXEC_NO_MARKET_DATA"
    engine.broker.close()  # type: ignore[attr-defined]
    engine.store.close()
    venue.close()
