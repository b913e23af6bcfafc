"""``/metrics`` shows slippage with ``_sum`` and ``_count``; the reject-spike text is a rate."""

from __future__ import annotations

from pathlib import Path

import yaml

from ordergate.bootstrap import build_engine
from ordergate.config import load_settings
from ordergate.obs.metrics import ExecMetrics

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "ordergate-rules.yml"


def test_slippage_is_served_with_sum_and_count() -> None:
    engine = build_engine(load_settings(database_url="sqlite:///:memory:"))
    metrics = ExecMetrics("paper")
    engine.subscribe("orders.*", metrics.on_event)
    engine.mark("AAPL", "150", bid="149.99", ask="150.01")
    engine.submit({"symbol": "AAPL", "side": "buy", "qty": "10", "idempotency_key": "s-1"})
    engine.store.close()
    lines = dict(
        line.rsplit(" ", 1) for line in metrics.render().decode().splitlines() if line[:1] != "#"
    )
    assert float(lines["exec_slippage_bps_count"]) == 1
    assert float(lines["exec_slippage_bps_sum"]) > 0  # bought above the arrival mark
    assert float(lines['exec_slippage_bps_dist_bucket{le="+Inf"}']) == 1


def test_the_reject_spike_alert_reads_as_a_rate() -> None:
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    [spike] = [r for r in rules if r["alert"] == "OrdergateRejectSpike"]
    text = spike["annotations"]["description"]
    assert "{{ $value | humanize }} rejections a minute" in text
    assert "of orders are rejected" not in text  # $value is the rate, not a fraction
