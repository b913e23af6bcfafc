"""Capabilities: safe defaults, the resend rule, and client ids checked against them."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from decimal import Decimal

import pytest

from ordergate.brokers.exchange import ExchangeBroker
from ordergate.brokers.paper import PaperBroker
from ordergate.domain.capabilities import (
    BrokerCapabilities,
    ClientIdDedupe,
    Lookup,
    check_client_order_id,
    client_order_id_problem,
    request_problems,
)
from ordergate.domain.enums import OrderType, Side, TimeInForce
from ordergate.domain.errors import ConfigError, ErrorCode
from ordergate.domain.wire import OrderRequest
from ordergate.engine.engine import client_order_id_for

KITE_LIKE = BrokerCapabilities(client_id_max_length=20, client_id_alphabet=r"[A-Za-z0-9]+")


def test_declaring_nothing_is_the_safe_side() -> None:
    caps = BrokerCapabilities()
    assert caps.dedupe is ClientIdDedupe.NEVER
    assert caps.lookup is Lookup.SCAN
    assert not caps.lookup_miss_conclusive
    assert not caps.may_resend_unknown
    assert not caps.simulated  # an undeclared broker needs MODE=LIVE
    with pytest.raises(FrozenInstanceError):
        caps.dedupe = ClientIdDedupe.ALWAYS  # type: ignore[misc]


@pytest.mark.parametrize(
    ("dedupe", "conclusive", "dedupes", "resend"),
    [
        (ClientIdDedupe.ALWAYS, False, True, True),
        # open-only dedupe is no licence to resend: the first may have filled at once
        (ClientIdDedupe.WHILE_OPEN, False, False, False),
        (ClientIdDedupe.WHILE_OPEN, True, False, True),
        (ClientIdDedupe.NEVER, True, False, True),
        (ClientIdDedupe.NEVER, False, False, False),
    ],
)
def test_the_resend_rule(
    dedupe: ClientIdDedupe, conclusive: bool, dedupes: bool, resend: bool
) -> None:
    caps = BrokerCapabilities(dedupe=dedupe, lookup_miss_conclusive=conclusive)
    assert caps.dedupes_client_order_id is dedupes
    assert caps.may_resend_unknown is resend


def test_client_ids_are_checked_for_length_and_alphabet() -> None:
    assert client_order_id_problem(KITE_LIKE, "og1234") is None
    too_long = client_order_id_for("acct", "key-1")  # the engine's ids: 26 characters
    with pytest.raises(ConfigError, match="26 characters; the broker takes at most 20") as info:
        check_client_order_id(KITE_LIKE, too_long)
    assert info.value.code is ErrorCode.E_CONFIG_INVALID
    problem = client_order_id_problem(KITE_LIKE, "og-12")
    assert problem is not None
    assert "characters the broker does not take" in problem
    assert client_order_id_problem(KITE_LIKE, "") == "the client order id is empty"


def test_a_bad_alphabet_or_length_is_refused_when_declared() -> None:
    with pytest.raises(ConfigError, match="not a regex"):
        BrokerCapabilities(client_id_alphabet="[a-z")
    with pytest.raises(ConfigError, match="at least 1"):
        BrokerCapabilities(client_id_max_length=0)


def test_request_problems_name_what_the_broker_cannot_take() -> None:
    caps = BrokerCapabilities(
        order_types=frozenset({OrderType.LIMIT}), time_in_force=frozenset({TimeInForce.DAY})
    )
    request = OrderRequest(
        client_order_id="og1",
        account_id="a",
        symbol="AAPL",
        side=Side.BUY,
        qty=Decimal(1),
        order_type=OrderType.STOP,
        time_in_force=TimeInForce.GTC,
        stop_price=Decimal(10),
        oco_group="g1",
    )
    assert request_problems(caps, request) == [
        "the broker takes no STOP orders",
        "the broker takes no time in force GTC",
        "the broker has no native OCO group",
    ]


def test_our_adapters_declare_and_the_old_flag_follows() -> None:
    paper = PaperBroker()
    assert paper.capabilities.dedupe is ClientIdDedupe.ALWAYS
    assert paper.dedupes_client_order_id
    assert paper.capabilities.simulated
    paper.dedupes_client_order_id = False  # how tests' brokers declare a non-deduping venue
    assert paper.capabilities.dedupe is ClientIdDedupe.NEVER
    assert PaperBroker().dedupes_client_order_id  # the class's declaration is untouched

    exchange = ExchangeBroker("http://127.0.0.1:1", dedupes_client_order_id=False)
    assert exchange.capabilities.dedupe is ClientIdDedupe.NEVER
    assert not exchange.dedupes_client_order_id
    assert not exchange.capabilities.may_resend_unknown
    for adapter in (paper, exchange):
        assert client_order_id_problem(adapter.capabilities, client_order_id_for("a", "k")) is None


def test_the_suites_engine_id_example_has_the_engines_shape() -> None:
    """The contract suite checks declarations against an example of the engine's ids
    (it does not import the engine); the example must keep the engine's shape."""
    import re

    from ordergate.testing.broker_contract import ENGINE_ID_EXAMPLE

    shape = re.compile(r"og[0-9a-f]{24}")
    assert shape.fullmatch(ENGINE_ID_EXAMPLE)
    assert shape.fullmatch(client_order_id_for("acct", "any key at all"))
