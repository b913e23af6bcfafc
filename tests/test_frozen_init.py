"""``fast_init``: the same instances as the dataclass's own ``__init__``, still frozen."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ordergate.domain import events, fills, intent, market, positions, report, wire
from ordergate.domain.frozen import fast_init
from ordergate.domain.intent import OrderIntent
from ordergate.engine import core

NOW = datetime(2026, 1, 5, tzinfo=UTC)

#: every class the hot path builds through fast_init, with no __post_init__
PLAIN = [
    wire.OrderRequest,
    wire.Execution,
    wire.BrokerOrder,
    fills.Fill,
    report.ExecutionReport,
    events.OrderSubmitted,
    events.OrderAccepted,
    events.OrderFilled,
    positions.FillEffect,
    core.Settled,
]


def _state(obj: Any) -> list[Any]:
    return [getattr(obj, f.name) for f in dataclasses.fields(obj)]


def _built_both_ways(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    fast = cls(*args, **kwargs)
    generated = object.__new__(cls)
    cls.__init__.generated(generated, *args, **kwargs)
    return fast, generated


@pytest.mark.parametrize("cls", PLAIN, ids=lambda c: c.__name__)
def test_every_field_given_lands_where_the_generated_init_puts_it(cls: type) -> None:
    sentinels = {f.name: object() for f in dataclasses.fields(cls)}
    positional = [f.name for f in dataclasses.fields(cls) if not f.kw_only]
    args = tuple(sentinels[name] for name in positional)
    kwargs = {name: v for name, v in sentinels.items() if name not in positional}
    fast, generated = _built_both_ways(cls, args, kwargs)
    assert _state(fast) == _state(generated) == list(sentinels.values())


@pytest.mark.parametrize("cls", PLAIN, ids=lambda c: c.__name__)
def test_defaults_and_factories_are_the_generated_init_s(cls: type) -> None:
    required = {
        f.name: object()
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    positional = [f.name for f in dataclasses.fields(cls) if not f.kw_only and f.name in required]
    args = tuple(required[name] for name in positional)
    kwargs = {name: v for name, v in required.items() if name not in positional}
    fast, generated = _built_both_ways(cls, args, kwargs)
    assert _state(fast) == _state(generated)
    other = cls(*args, **kwargs)
    for f in dataclasses.fields(cls):  # a factory's value is fresh for each instance
        if f.default_factory is not dataclasses.MISSING:
            assert getattr(fast, f.name) is not getattr(other, f.name)


@pytest.mark.parametrize("cls", [*PLAIN, OrderIntent, market.Mark], ids=lambda c: c.__name__)
def test_the_signature_is_the_generated_one(cls: type) -> None:
    fast = inspect.signature(cls.__init__)
    generated = inspect.signature(cls.__init__.generated)
    assert [(p.name, p.kind) for p in fast.parameters.values()] == [
        (p.name, p.kind) for p in generated.parameters.values()
    ]
    with pytest.raises(TypeError):
        cls(*range(len(fast.parameters) + 1))  # too many positionals, as before


def test_instances_stay_frozen() -> None:
    order = OrderIntent.parse({"symbol": "AAPL", "side": "buy", "qty": "1", "key": "k"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.qty = Decimal(2)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del order.symbol  # type: ignore[misc]
    assert dataclasses.replace(order, qty=Decimal(3)).qty == Decimal(3)


def test_post_init_still_validates() -> None:
    with pytest.raises(intent.InvalidIntent):
        OrderIntent(idempotency_key="k", symbol="AAPL", side=intent.Side.BUY, qty=Decimal(0))
    with pytest.raises(intent.InvalidIntent, match="above ask"):
        market.Mark(
            symbol="X", last=Decimal(1), bid=Decimal(2), ask=Decimal(1), ts=datetime.now(UTC)
        )


def test_an_intent_is_the_same_either_way() -> None:
    given = {
        "idempotency_key": "k-1",
        "symbol": "AAPL",
        "side": intent.Side.SELL,
        "qty": Decimal("2.5"),
        "order_type": intent.OrderType.LIMIT,
        "limit_price": Decimal("101.25"),
        "metadata": {"a": [1, 2]},
        "tag": "t",
    }
    fast, generated = _built_both_ways(OrderIntent, (), given)
    assert _state(fast) == _state(generated)
    assert fast == generated
    assert fast.canonical() == generated.canonical()


def test_fast_init_refuses_what_it_does_not_handle() -> None:
    @dataclasses.dataclass
    class Mutable:
        x: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        x: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class NotInit:
        x: int = dataclasses.field(default=1, init=False)

    for cls in (Mutable, NoSlots, NotInit):
        with pytest.raises(TypeError):
            fast_init(cls)
