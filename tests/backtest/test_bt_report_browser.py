"""The HTML reports rendered in a real headless Chromium, offline: every chart drawn
with data, no empty box, no heading without content."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from btkit import bars, wave

from ordergate.backtest.examples import SmaCross
from ordergate.backtest.report import ReportData, render_html
from ordergate.backtest.runner import BacktestConfig, BacktestRunner
from ordergate.backtest.tca import order_costs, slippage_values, tca_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is not installed (apt-get install chromium)"
)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

#: what the page must not have: a chart without a drawn trace, a table without a
#: cell, a section whose heading is all it holds, an element with a box and nothing
#: in it
AUDIT = """() => {
  const problems = [];
  for (const div of document.querySelectorAll('.plotly-graph-div')) {
    const drawn = div.querySelectorAll('.scatterlayer .trace, .barlayer .trace').length;
    const box = div.getBoundingClientRect();
    if (!drawn || box.height < 50) problems.push('empty chart ' + div.id);
  }
  for (const table of document.querySelectorAll('table')) {
    if (!table.querySelector('td')) problems.push('table without cells');
  }
  for (const section of document.querySelectorAll('section')) {
    const body = [...section.children].filter(e => e.tagName !== 'H2');
    const text = body.map(e => e.innerText.trim()).join('');
    if (!body.length || (!text && !section.querySelector('.plotly-graph-div')))
      problems.push('empty section ' + section.querySelector('h2').innerText);
  }
  for (const h of document.querySelectorAll('h1, h2, th, li, p')) {
    if (!h.innerText.trim()) problems.push('empty ' + h.tagName);
  }
  return {problems, charts: [...document.querySelectorAll('.plotly-graph-div')].map(d => d.id),
          headings: [...document.querySelectorAll('h2')].map(h => h.innerText)};
}"""


@pytest.fixture
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _audit(browser: Any, page_html: str, path: Path) -> dict[str, Any]:
    path.write_text(page_html, encoding="utf-8")
    context = browser.new_context(offline=True)  # nothing may be fetched
    try:
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(path.as_uri())
        tab.wait_for_load_state("load")
        found: dict[str, Any] = tab.evaluate(AUDIT)
        assert not errors, errors
        return found
    finally:
        context.close()


def test_the_backtest_report_renders_offline_with_no_empty_element(
    browser: Any, tmp_path: Path
) -> None:
    config = BacktestConfig(fill_model="participation", fee_model="maker_taker")
    result = BacktestRunner(config).run(bars(wave(300)), SmaCross().on_event)
    found = _audit(browser, render_html("Backtest", result.report_data()), tmp_path / "r.html")
    assert found["problems"] == []
    assert set(found["charts"]) == {"equity", "returns", "slippage", "fills-AAPL"}
    assert "Round trips" in found["headings"]
    assert "Costs overall" in found["headings"]


def test_the_tca_page_has_no_empty_box_or_heading(browser: Any, tmp_path: Path) -> None:
    runner = BacktestRunner(BacktestConfig())
    engines: list[Any] = []
    original = runner.build

    def build(start: Any) -> Any:
        graph = original(start)
        engines.append(graph[1])
        return graph

    runner.build = build  # type: ignore[method-assign]
    runner.run(bars(wave(80)), SmaCross().on_event)
    from ordergate.store.base import OrderQuery

    orders = engines[0].orders(OrderQuery(limit=1000))
    prices = {"AAPL": bars(wave(80))[-1].close}
    report = tca_report(orders, prices)
    data = ReportData(tca=report, slippage_bps=slippage_values(order_costs(orders, prices)))
    found = _audit(browser, render_html("Transaction costs", data), tmp_path / "tca.html")
    assert found["problems"] == []
    assert found["charts"] == ["slippage"]
    assert found["headings"] == ["Slippage per order (bps)", "Costs overall"]
    # and with nothing at all to show, the page says so rather than drawing empty boxes
    empty = _audit(browser, render_html("Transaction costs", ReportData()), tmp_path / "e.html")
    assert empty["problems"] == []
    assert empty["charts"] == []


def test_the_audit_sees_an_empty_heading_table_and_chart(browser: Any, tmp_path: Path) -> None:
    page = (
        "<!doctype html><html><body><section><h2>Equity</h2></section><table><tr><th>x</th>"
        "</tr></table><section><h2>Chart</h2><div class='plotly-graph-div' id='c'></div>"
        "</section></body></html>"
    )
    found = _audit(browser, page, tmp_path / "bad.html")
    assert found["problems"] == ["empty chart c", "table without cells", "empty section Equity"]
