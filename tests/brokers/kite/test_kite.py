"""The Kite adapter's own promises, against the fake: tokens, secrets, numbers, rate
limits, postbacks, the broker's own orders, instruments and quotes."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ordergate.brokers.kite.adapter import KiteBroker
from ordergate.brokers.kite.postback import postback_checksum, verify_postback
from ordergate.brokers.kite.session import SWITCH_KIND, SWITCH_TARGET, write_token_file
from ordergate.brokers.kite.tags import client_id_for_tag, tag_for
from ordergate.clock import SystemClock
from ordergate.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.errors import BrokerRejected, BrokerUnavailable, ErrorCode
from ordergate.domain.wire import BrokerOrder, OrderRequest
from ordergate.risk.killswitch import InMemoryKillSwitchRepository, KillSwitchBoard
from tests.brokers.kite.fake_kite import FakeKite
from tests.brokers.kite.kit import make_adapter


def _request(cid: str = "og" + "ab" * 12, **kw: object) -> OrderRequest:
    values: dict[str, object] = {
        "client_order_id": cid,
        "account_id": "ZX1234",
        "symbol": "INFY",
        "side": Side.BUY,
        "qty": Decimal(2),
        "order_type": OrderType.MARKET,
        "time_in_force": TimeInForce.DAY,
    }
    values.update(kw)
    return OrderRequest(**values)  # type: ignore[arg-type]


@pytest.fixture
def board() -> KillSwitchBoard:
    return KillSwitchBoard(InMemoryKillSwitchRepository(), SystemClock())


@pytest.fixture
def adapter(fake: FakeKite, board: KillSwitchBoard, tmp_path: Path) -> Iterator[KiteBroker]:
    broker = make_adapter(fake, board=board, token_file=tmp_path / "kite-token")
    yield broker
    broker.close()


# ------------------------------------------------------------------ tags


def test_tags_are_a_bijection_on_the_engines_ids() -> None:
    ids = {"og" + f"{n:024x}" for n in (0, 1, 35, 36, (1 << 96) - 1, 0xABCDEF << 40)}
    tags = {tag_for(cid) for cid in ids}
    assert len(tags) == len(ids)
    for cid in ids:
        tag = tag_for(cid)
        assert len(tag) == 20
        assert tag.isalnum()
        assert client_id_for_tag(tag) == cid
        assert client_id_for_tag(tag.upper()) == cid, "survives an upper-casing broker"
    assert client_id_for_tag("hand-placed") is None
    assert client_id_for_tag("o" + "z" * 19) is None  # base 36, but past 96 bits


# ---------------------------------------------------------------- tokens


def test_an_expired_token_trips_the_kill_switch_and_sends_nothing_more(
    fake: FakeKite, adapter: KiteBroker, board: KillSwitchBoard
) -> None:
    fake.expire_token()
    with pytest.raises(BrokerRejected) as info:
        adapter.submit(_request())
    assert info.value.code is ErrorCode.E_RISK_KILL_SWITCH
    assert "install a new" in info.value.message
    assert board.is_active(), "the kill switch is ACTIVE"
    [switch] = board.list()
    assert switch.key == (SWITCH_KIND, SWITCH_TARGET)
    sent = len(fake.requests)
    for _ in range(3):  # no retry loop: refused here, without a request
        with pytest.raises(BrokerRejected):
            adapter.submit(_request())
        with pytest.raises(BrokerUnavailable):
            adapter.fetch_order("og" + "cd" * 12)
    assert len(fake.requests) == sent
    assert fake.all_orders() == []


def test_a_new_token_installed_through_the_api_clears_the_switch(
    fake: FakeKite, adapter: KiteBroker, board: KillSwitchBoard
) -> None:
    pytest.importorskip("fastapi")
    import httpx
    from fastapi import FastAPI

    from ordergate.brokers.kite.routes import build_router
    from ordergate.obs.redact import Redactor as ObsRedactor
    from ordergate.service.auth import TokenAuth, require_write
    from ordergate.service.errors import install_error_handlers
    from ordergate.service.runner import server_thread

    fake.expire_token()
    with pytest.raises(BrokerRejected):
        adapter.submit(_request())
    app = FastAPI()
    app.state.auth = TokenAuth("s3cret-api-token", protect_reads=False)
    install_error_handlers(app, ObsRedactor(["s3cret-api-token"]))
    app.include_router(build_router(lambda: adapter, require_write))
    with server_thread(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        _install_through_the_api(client, fake, adapter, board)


def _install_through_the_api(
    client: object, fake: FakeKite, adapter: KiteBroker, board: KillSwitchBoard
) -> None:
    import httpx

    assert isinstance(client, httpx.Client)
    refused = client.post("/v1/brokers/kite/token", json={"access_token": "not-yet-issued"})
    assert refused.status_code == 401, "behind the service's auth"
    headers = {"Authorization": "Bearer s3cret-api-token"}
    bad = client.post(
        "/v1/brokers/kite/token", json={"access_token": "not-yet-issued"}, headers=headers
    )
    assert bad.status_code >= 400
    assert board.is_active(), "a token Kite refuses is not installed"
    assert "not-yet-issued" not in bad.text
    fake.issue_token("freshtoken0002")
    good = client.post(
        "/v1/brokers/kite/token", json={"access_token": "freshtoken0002"}, headers=headers
    )
    assert good.status_code == 200, good.text
    assert good.json()["user_id"] == "ZX1234"
    assert "freshtoken0002" not in good.text
    assert not board.is_active(), "the switch is cleared"
    assert adapter.submit(_request()).status is OrderStatus.FILLED


def test_a_token_set_by_the_cli_reaches_the_running_adapter(
    fake: FakeKite,
    adapter: KiteBroker,
    board: KillSwitchBoard,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from ordergate.brokers.kite.cli import kite_app

    fake.expire_token()
    with pytest.raises(BrokerRejected):
        adapter.submit(_request())
    fake.issue_token("clitoken0003")
    assert fake.server is not None
    monkeypatch.setenv("ORDERGATE_KITE_API_KEY", fake.api_key)
    monkeypatch.setenv("ORDERGATE_KITE_ROOT", f"http://127.0.0.1:{fake.server.server_address[1]}")
    monkeypatch.setenv("ORDERGATE_KITE_TOKEN_FILE", str(tmp_path / "kite-token"))
    result = CliRunner().invoke(kite_app, ["token", "set", "clitoken0003"])
    assert result.exit_code == 0, result.output
    assert "clitoken0003" not in result.output
    assert (tmp_path / "kite-token").stat().st_mode & 0o777 == 0o600
    receipt = adapter.submit(_request())  # the adapter reads the file, checks, clears
    assert receipt.status is OrderStatus.FILLED
    assert not board.is_active()


# --------------------------------------------------------------- secrets


def test_credentials_never_reach_logs_receipts_or_errors(
    fake: FakeKite, board: KillSwitchBoard, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = make_adapter(fake, board=board, sdk_debug=True)
    secrets = [fake.api_key, fake.api_secret, next(iter(fake.tokens)), fake.user_id]
    with caplog.at_level(logging.DEBUG):
        receipt = adapter.submit(_request())
        view = adapter.fetch_order(receipt.client_order_id)
        fake.expire_token()
        with pytest.raises(BrokerRejected) as info:
            adapter.submit(_request("og" + "ef" * 12))
    assert any("Request:" in r.getMessage() for r in caplog.records), "SDK debug log is on"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert view is not None
    dumped = json.dumps([receipt.raw, view.raw, str(info.value), info.value.to_dict()], default=str)
    for secret in secrets[:3]:
        assert secret not in text, "a credential in the SDK's log"
        assert secret not in dumped, "a credential in a receipt or an error"
    assert fake.user_id not in json.dumps([receipt.raw, view.raw], default=str)
    adapter.close()


# --------------------------------------------------------------- numbers


def test_numbers_that_do_not_survive_the_sdk_are_refused_before_sending(
    fake: FakeKite, adapter: KiteBroker
) -> None:
    for request, field in (
        (_request(qty=Decimal("2.5")), "qty"),
        (
            _request(order_type=OrderType.LIMIT, limit_price=Decimal("1500.050000000000000001")),
            "limit_price",
        ),
    ):
        with pytest.raises(BrokerRejected) as info:
            adapter.submit(request)
        assert info.value.code is ErrorCode.E_INTENT_INVALID
        assert info.value.context["field"] == field
    assert fake.placements == [], "nothing was sent"


def test_prices_and_quantities_come_back_as_decimals(fake: FakeKite, adapter: KiteBroker) -> None:
    fake.add_instrument("NSE:ODD", "101.15")
    view = adapter.submit(_request(symbol="ODD", qty=Decimal(3)))
    assert view.avg_price == Decimal("101.15")
    assert isinstance(view.avg_price, Decimal)
    assert all(isinstance(e.last_px, Decimal) for e in view.executions)
    [position] = [p for p in adapter.fetch_positions() if p.symbol == "ODD"]
    assert position.avg_price == Decimal("101.15")


def test_kites_products_exchanges_and_validity(fake: FakeKite, board: KillSwitchBoard) -> None:
    adapter = make_adapter(fake, products={"NFO:NIFTY26DECFUT": "NRML"}, product="CNC")
    adapter.submit(_request())
    adapter.submit(
        _request(
            "og" + "12" * 12,
            symbol="NFO:NIFTY26DECFUT",
            qty=Decimal(75),
            order_type=OrderType.LIMIT,
            limit_price=Decimal("23000"),
            time_in_force=TimeInForce.IOC,
        )
    )
    rows = {r["tradingsymbol"]: r for r in fake.all_orders()}
    assert rows["INFY"]["product"] == "CNC"
    assert rows["INFY"]["exchange"] == "NSE"
    nifty = rows["NIFTY26DECFUT"]
    assert (nifty["product"], nifty["exchange"], nifty["validity"]) == ("NRML", "NFO", "IOC")
    assert nifty["variety"] == "regular"
    with pytest.raises(BrokerRejected) as info:  # F&O: lot multiples, Kite says so
        adapter.submit(_request("og" + "34" * 12, symbol="NFO:NIFTY26DECFUT", qty=Decimal(10)))
    assert "lot size" in info.value.message
    adapter.close()


def test_instrument_list_feeds_the_gates_tick_and_lot(adapter: KiteBroker) -> None:
    specs = adapter.instrument_specs("NFO")
    spec = specs["NFO:NIFTY26DECFUT"]
    assert (spec.tick_size, spec.lot_size, spec.min_qty) == (
        Decimal("0.05"),
        Decimal(75),
        Decimal(75),
    )
    from ordergate.risk.limits import InstrumentLimits, LotSizeGate

    assert LotSizeGate(InstrumentLimits(instruments=specs)).limits.spec("NFO:NIFTY26DECFUT") is spec


# ----------------------------------------------------------- rate limits


def test_order_placement_is_queued_under_kites_limits_measured_at_the_fake(
    fake: FakeKite,
) -> None:
    adapter = make_adapter(fake, orders_per_second=5, orders_per_minute=200)
    started = time.monotonic()
    for n in range(12):
        adapter.submit(_request("og" + f"{n:024x}"))
    elapsed = time.monotonic() - started
    times = sorted(t for t, status in fake.placements)
    worst = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
    assert worst <= 5, f"{worst} placements in one second at the fake"
    assert all(status == 200 for _, status in fake.placements), "never a 429"
    assert elapsed >= 2.0
    adapter.close()


# -------------------------------------------------------------- postbacks


def test_postback_checksums(fake: FakeKite) -> None:
    payload = {"order_id": "250101000000001", "order_timestamp": "2026-12-01 10:00:00"}
    good = dict(payload, checksum=postback_checksum(*payload.values(), fake.api_secret))
    assert verify_postback(good, fake.api_secret)
    assert not verify_postback(dict(good, checksum="0" * 64), fake.api_secret)
    assert not verify_postback(dict(good, order_id="250101000000002"), fake.api_secret)
    assert not verify_postback(good, "")


def test_a_verified_postback_pushes_the_order_at_once(fake: FakeKite) -> None:
    pytest.importorskip("fastapi")
    import httpx
    from fastapi import FastAPI

    from ordergate.brokers.kite.routes import build_router
    from ordergate.service.auth import require_write
    from ordergate.service.runner import server_thread

    adapter = make_adapter(fake, postbacks=True, poll_interval_s=3600)
    pushed: list[BrokerOrder] = []
    adapter.subscribe(pushed.append)
    receipt = adapter.submit(_request(order_type=OrderType.LIMIT, limit_price=Decimal("1000")))
    fake.trade(receipt.broker_order_id)
    row = fake.orders[receipt.broker_order_id].row
    payload = dict(
        row, checksum=postback_checksum(row["order_id"], row["order_timestamp"], fake.api_secret)
    )
    app = FastAPI()
    app.include_router(build_router(lambda: adapter, require_write))
    with server_thread(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        forged = client.post("/v1/brokers/kite/postback", json=dict(payload, checksum="f" * 64))
        assert forged.status_code == 403
        assert not pushed
        assert client.post("/v1/brokers/kite/postback", json=payload).status_code == 200
    assert [v.status for v in pushed] == [OrderStatus.FILLED]
    adapter.close()


# ------------------------------------------------- the broker's own orders


def test_the_mis_square_off_is_reported_as_the_brokers_own_orders(fake: FakeKite) -> None:
    adapter = make_adapter(fake)
    pushed: list[BrokerOrder] = []
    adapter.subscribe(pushed.append)
    adapter.submit(_request(qty=Decimal(4)))
    [made] = fake.square_off()
    deadline = time.monotonic() + 5
    while not any(v.broker_order_id == made for v in pushed) and time.monotonic() < deadline:
        time.sleep(0.02)
    [view] = [v for v in pushed if v.broker_order_id == made]
    assert view.client_order_id == f"kite-{made}"
    assert (view.side, view.qty, view.status) == (Side.SELL, Decimal(4), OrderStatus.FILLED)
    assert view.raw["origin"] == "broker"
    assert view.executions
    assert adapter.fetch_order(view.client_order_id) == view
    assert [p for p in adapter.fetch_positions() if p.symbol == "INFY"] == []
    adapter.close()


def test_failed_polls_catch_up(fake: FakeKite) -> None:
    adapter = make_adapter(fake)
    pushed: list[BrokerOrder] = []
    adapter.subscribe(pushed.append)
    receipt = adapter.submit(_request(order_type=OrderType.LIMIT, limit_price=Decimal("1000")))
    fake.fail_reads(6)  # 503s on the books: the poll is down for a while
    fake.trade(receipt.broker_order_id)
    deadline = time.monotonic() + 5
    while not any(v.status is OrderStatus.FILLED for v in pushed) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any(v.status is OrderStatus.FILLED for v in pushed), "the fill missed, then pushed"
    assert fake._fail_reads == 0
    adapter.close()


def test_quotes_for_the_market_data_port(adapter: KiteBroker) -> None:
    mark = adapter.fetch_quote("INFY")
    assert mark is not None
    assert (mark.last, mark.bid, mark.ask) == (
        Decimal(1500),
        Decimal("1499.95"),
        Decimal("1500.05"),
    )
    assert mark.ts <= datetime.now(UTC)
    assert adapter.fetch_quote("NOPE") is None


def test_an_order_rejected_by_kites_rms_after_placement(
    fake: FakeKite, adapter: KiteBroker
) -> None:
    fake.arm_async_reject("RMS:Margin Exceeds")
    view = adapter.submit(_request())
    assert view.status is OrderStatus.REJECTED
    assert "Margin" in view.reason


def test_a_written_token_file_is_private(tmp_path: Path) -> None:
    write_token_file(tmp_path / "t", "abc")
    assert (tmp_path / "t").stat().st_mode & 0o777 == 0o600
