"""The dashboard in a real headless Chromium: an order submitted through the API
appears in the blotter and turns FILLED within a second, without a reload."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.conftest import Live, intent

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is not installed (apt-get install chromium)"
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "bench" / "out"


@pytest.fixture
def page(live: Live) -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.goto(live.url + "/")
            tab.wait_for_selector('#stream[data-state="live"]', timeout=10_000)
            yield tab
        finally:
            browser.close()


def _status_of(order_id: str) -> str:
    return f'#blotter tr[data-order-id="{order_id}"] td.status'


def test_row_appears_and_fills_within_a_second(live: Live, page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    live.client.post("/v1/marks", json={"symbol": "AAPL", "last": "150"})
    # a resting limit order first: the row appears as ACCEPTED ...
    resting = intent("ui-1", order_type="limit", limit_price="149.50", time_in_force="GTC")
    started = time.monotonic()
    order_id = live.client.post("/v1/intents", json=resting).json()["order_id"]
    expect(page.locator(_status_of(order_id))).to_have_text("ACCEPTED", timeout=1000)
    # ... and turns FILLED when the market crosses it, within one second, no reload
    started = time.monotonic()
    live.client.post("/v1/marks", json={"symbol": "AAPL", "last": "149.00"})
    expect(page.locator(_status_of(order_id))).to_have_text("FILLED", timeout=1000)
    assert time.monotonic() - started < 1.0
    # a market order appears already FILLED within a second
    started = time.monotonic()
    market_id = live.client.post("/v1/intents", json=intent("ui-2", qty="5")).json()["order_id"]
    expect(page.locator(_status_of(market_id))).to_have_text("FILLED", timeout=1000)
    assert time.monotonic() - started < 1.0
    # positions and P&L follow the fills
    expect(page.locator('#positions tr[data-symbol="AAPL"] td').nth(1)).to_have_text(
        "15", timeout=2000
    )
    expect(page.locator("#pnl-total")).not_to_have_text("–", timeout=2000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)


def test_kill_switch_control_sets_and_clears(live: Live, page: object) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.fill("#token", live.client.headers["Authorization"].removeprefix("Bearer "))
    page.click("#token-form button")
    page.fill("#ks-reason", "browser test")
    page.click("#ks-activate")
    row = page.locator('#switches tr[data-state="ACTIVE"]')
    expect(row).to_have_count(1, timeout=2000)
    expect(page.locator("#circuit")).to_have_text("circuit closed")
    live.client.post("/v1/marks", json={"symbol": "AAPL", "last": "150"})
    order_id = live.client.post("/v1/intents", json=intent("ui-ks")).json()["order_id"]
    expect(page.locator(_status_of(order_id))).to_have_text("REJECTED", timeout=1000)
    page.click("#ks-clear")
    expect(page.locator('#switches tr[data-state="OFF"]')).to_have_count(1, timeout=2000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "dashboard-killswitch.png"), full_page=True)
