"""The report's figures against a hand computation on a recorded set.

The real venue is a paper broker with other settings than the twin's: 10 bps of
slippage, a 50 % participation limit and a flat fee of 2 per fill; the twin has the
defaults (5 bps, no participation limit, 0.005 a share with a minimum of 1). Four orders:

- A  14:30:00  market buy 10 AAPL at 100           real 100.10        sim 100.05
- B  15:30:00  market sell 5 MSFT at 200           real 199.80        sim 199.90
- C  15:30:00  limit buy 20 AAPL @ 99, resting, filled by the 98.90 mark 30 s later:
               a resting limit is a maker, filled at the price that reached it with no
               slippage, on both venues:          real 98.90         sim 98.90
- D  15:31:30  market buy 1000 AAPL on a fresh mark of 98.90 × 1000 shares: the real
               venue takes 500 now and 500 at the next mark 10 s later; the twin all at once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import typer
from typer.testing import CliRunner

from ordergate.bootstrap import build_store
from ordergate.brokers.paper import PaperBroker
from ordergate.clock import SimulatedClock
from ordergate.shadow.cli import register
from ordergate.sim.fees import FlatFee
from ordergate.sim.fills import FixedBps
from ordergate.sim.matching import FillModel

from .kit import buy, sell, shadowed

BPS = Decimal(10_000)


def q(value: Decimal, places: str) -> str:
    return str(value.quantize(Decimal(places), rounding=ROUND_HALF_EVEN))


def record(tmp_path: Path) -> dict[str, str]:
    t0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    clock = SimulatedClock(t0)
    real_venue = PaperBroker(
        clock=clock,
        fill_model=FillModel(slippage=FixedBps(Decimal(10)), participation=Decimal("0.5")),
        fee_model=FlatFee(Decimal(2)),
    )
    ids: dict[str, str] = {}
    with shadowed(tmp_path, broker=real_venue, clock=clock) as s:
        engine = s.engine
        engine.mark("AAPL", "100", volume="1000")
        ids["A"] = engine.submit(buy("A", qty="10")).order_id
        clock.set(t0 + timedelta(hours=1))
        engine.mark("MSFT", "200", volume="1000")
        ids["B"] = engine.submit(sell("B", qty="5", symbol="MSFT")).order_id
        ids["C"] = engine.submit(buy("C", qty="20", order_type="LIMIT", limit_price="99")).order_id
        clock.set(t0 + timedelta(hours=1, seconds=30))
        engine.mark("AAPL", "98.90", volume="1000")
        clock.set(t0 + timedelta(hours=1, seconds=90))
        engine.mark("AAPL", "98.90", volume="1000")  # C took 20 of the last mark's volume
        ids["D"] = engine.submit(buy("D", qty="1000")).order_id
        clock.set(t0 + timedelta(hours=1, seconds=100))
        engine.mark("AAPL", "98.90", volume="1000")
        assert s.shadow.drain()
    return ids


def test_report_figures_match_a_hand_computation(tmp_path: Path) -> None:
    ids = record(tmp_path)
    runner = CliRunner()
    app = typer.Typer()
    register(app, build_store)
    app.command("noop")(lambda: None)  # a group needs a second command to keep its name
    result = runner.invoke(app, ["shadow", "report", "--db", str(tmp_path / "real.db"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = {row["real_order_id"]: row for row in report["orders"]}
    a, b, c, d = (rows[ids[k]] for k in "ABCD")

    # by hand: side sign × (sim − real) / real × 10,000
    diff_a = (Decimal("100.05") - Decimal("100.10")) / Decimal("100.10") * BPS
    diff_b = -(Decimal("199.90") - Decimal("199.80")) / Decimal("199.80") * BPS
    diff_d = (Decimal("98.94945") - Decimal("98.9989")) / Decimal("98.9989") * BPS
    assert (a["price_diff_bps"], b["price_diff_bps"]) == ("-5.00", "-5.01")
    assert a["price_diff_bps"] == q(diff_a, "0.01")
    assert b["price_diff_bps"] == q(diff_b, "0.01")
    assert d["price_diff_bps"] == q(diff_d, "0.01")
    assert (c["price_diff_bps"], c["real_avg_price"], c["sim_avg_price"]) == (
        "0.00",
        "98.9",
        "98.9",
    )
    assert (a["real_avg_price"], a["sim_avg_price"]) == ("100.1", "100.05")
    assert (d["real_avg_price"], d["sim_avg_price"]) == ("98.9989", "98.94945")
    assert (c["real_time_to_fill_s"], c["sim_time_to_fill_s"]) == ("30.000", "30.000")
    assert (d["real_time_to_fill_s"], d["sim_time_to_fill_s"]) == ("10.000", "0.000")
    assert (d["real_fill_ratio"], d["sim_fill_ratio"]) == ("1.0000", "1.0000")
    assert (d["real_fees"], d["sim_fees"]) == ("4", "5")
    assert (a["real_fees"], a["sim_fees"], b["hour"], a["hour"]) == ("2", "1", 15, 14)

    groups = report["groups"]
    [everything] = groups["all"]
    assert everything["orders"] == everything["compared"] == 4
    assert everything["mean_price_diff_bps"] == q((diff_a + diff_b + diff_d) / 4, "0.01")  # C: 0
    assert everything["mean_real_time_to_fill_s"] == q(Decimal(40) / 4, "0.001")
    assert everything["mean_sim_time_to_fill_s"] == q(Decimal(30) / 4, "0.001")
    assert (everything["real_fees"], everything["sim_fees"]) == ("10", "8")
    by_symbol = {g["symbol"]: g for g in groups["symbol"]}
    assert by_symbol["AAPL"]["mean_price_diff_bps"] == q((diff_a + diff_d) / 3, "0.01")
    assert by_symbol["MSFT"]["mean_price_diff_bps"] == q(diff_b, "0.01")
    by_type = {g["order_type"]: g for g in groups["order_type"]}
    assert (by_type["LIMIT"]["orders"], by_type["MARKET"]["orders"]) == (1, 3)
    by_hour = {g["hour"]: g for g in groups["hour"]}
    assert (by_hour[14]["orders"], by_hour[15]["orders"]) == (1, 3)
    assert by_hour[15]["mean_real_time_to_fill_s"] == q(Decimal(40) / 3, "0.001")
    by_side = {g["side"]: g for g in groups["side"]}
    assert by_side["SELL"]["real_fees"] == "2"

    # the real venue took 10 bps on every market order: the fit finds it, with no error
    slip = report["fit"]["slippage"]
    assert (slip["best_bps"], slip["rms_error_bps"], slip["samples"]) == ("10", "0.00", 3)
    errors = [
        (Decimal("100") * Decimal("1.0005") - Decimal("100.10")) / Decimal("100.10") * BPS,
        (Decimal("200") * Decimal("0.9995") - Decimal("199.80")) / Decimal("199.80") * BPS,
        (Decimal("98.90") * Decimal("1.0005") - Decimal("98.9989")) / Decimal("98.9989") * BPS,
    ]
    configured = (sum(e * e for e in errors) / 3).sqrt()
    assert slip["configured_rms_error_bps"] == q(configured, "0.01")
    # and it took half of each mark's volume: so does the fitted participation
    part = report["fit"]["participation"]
    assert (part["best"], part["rms_error_share"], part["points"]) == ("0.5", "0.0000", 4)

    html = runner.invoke(app, ["shadow", "report", "--db", str(tmp_path / "real.db"), "--html"])
    assert html.exit_code == 0
    assert "<table>" in html.stdout
    assert ids["D"] in html.stdout
    assert "-5.01" in html.stdout
    text = runner.invoke(app, ["shadow", "report", "--db", str(tmp_path / "real.db")])
    assert text.exit_code == 0
    assert "participation: best 0.5" in text.stdout


def test_the_report_refuses_a_database_that_does_not_exist(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app, build_store)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["shadow", "report", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert not (tmp_path / "none.db").exists()
    assert not (tmp_path / "none.shadow.db").exists()
