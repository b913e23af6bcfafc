"""The shipped Prometheus rules name metrics the service really serves."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ordergate.obs.metrics import ExecMetrics

RULES = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "ordergate-rules.yml"


def served_names() -> set[str]:
    """Every sample name ``GET /metrics`` can show (from the service's own registry)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    suffixes["summary"] = ("_sum", "_count")
    names: set[str] = set()
    for family in ExecMetrics("paper").registry.collect():
        names.update(family.name + suffix for suffix in suffixes[family.type])
    return names


def test_rules_cover_seed_000_alerts_and_use_served_metrics() -> None:
    data = yaml.safe_load(RULES.read_text())
    rules = [rule for group in data["groups"] for rule in group["rules"]]
    served = served_names()
    names = {rule["alert"] for rule in rules}
    assert {
        "OrdergateBrokerCircuitOpen",
        "OrdergateRejectSpike",
        "OrdergateSubmitLatencySpike",
    } <= names
    for rule in rules:
        used = set(re.findall(r"\b(exec_[a-z_]+)", rule["expr"]))
        assert used, rule["alert"]
        assert used <= served, (rule["alert"], used - served)
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
