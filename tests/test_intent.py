"""Bad input of every kind is refused with a code that names the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.domain.enums import OrderType, Side, TimeInForce
from ordergate.domain.errors import ErrorCode, InvalidIntent
from ordergate.domain.intent import OrderIntent, check_not_expired
from ordergate.domain.money import parse_decimal

BASE: dict[str, Any] = {"symbol": "AAPL", "side": "buy", "qty": "100", "idempotency_key": "k-1"}


def parse(**changes: Any) -> OrderIntent:
    data = {**BASE, **changes}
    return OrderIntent.parse({k: v for k, v in data.items() if v is not ...})


def test_a_minimal_intent_has_safe_defaults() -> None:
    intent = parse()
    assert intent.order_type is OrderType.MARKET
    assert intent.time_in_force is TimeInForce.DAY
    assert intent.side is Side.BUY
    assert intent.qty == Decimal(100)
    assert intent.account_id == "default"


def test_seed_003_field_names_are_accepted() -> None:
    intent = OrderIntent.parse(
        {
            "symbol": "infy",
            "strategy_code": "mom-1",
            "side": "SELL",
            "qty": 5,
            "order_type": "LIMIT",
            "product": "MIS",
            "validity": "IOC",
            "price": 1450.5,
            "tag": "t",
            "reason": "signal",
            "confidence": 0.7,
            "metadata": {"a": 1},
            "key": "k-2",
        }
    )
    assert intent.symbol == "INFY"
    assert intent.strategy_id == "mom-1"
    assert intent.time_in_force is TimeInForce.IOC
    assert intent.limit_price == Decimal("1450.5")
    assert intent.confidence == Decimal("0.7")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"symbol": ...}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"symbol": "AA PL"}, "symbol"),
        ({"symbol": "A" * 65}, "symbol"),
        ({"side": "hold"}, "side"),
        ({"side": 3}, "side"),
        ({"qty": "0"}, "qty"),
        ({"qty": "-1"}, "qty"),
        ({"qty": "abc"}, "qty"),
        ({"qty": "NaN"}, "qty"),
        ({"qty": "Infinity"}, "qty"),
        ({"qty": True}, "qty"),
        ({"qty": [1]}, "qty"),
        ({"qty": "1e20"}, "qty"),
        ({"qty": "0.00000000001"}, "qty"),
        ({"idempotency_key": ...}, "idempotency_key"),
        ({"idempotency_key": " "}, "idempotency_key"),
        ({"idempotency_key": "k" * 129}, "idempotency_key"),
        ({"idempotency_key": "bad key"}, "idempotency_key"),
        ({"order_type": "limit"}, "limit_price"),
        ({"order_type": "market", "limit_price": "10"}, "limit_price"),
        ({"order_type": "stop"}, "stop_price"),
        ({"order_type": "stop_limit", "stop_price": "10"}, "limit_price"),
        ({"order_type": "iceberg"}, "order_type"),
        ({"order_type": "limit", "limit_price": "-1"}, "limit_price"),
        ({"time_in_force": "forever"}, "time_in_force"),
        ({"time_in_force": "GTD"}, "expire_at"),
        ({"expire_at": "tomorrow"}, "expire_at"),
        ({"expire_at": "2026-01-01T00:00:00"}, "expire_at"),
        ({"sl_offset_pct": "0.02"}, "sl_offset_pct"),
        ({"tp_offset_pct": "-0.03"}, "tp_offset_pct"),
        ({"sl_offset_pct": "-1.5"}, "sl_offset_pct"),
        ({"confidence": "2"}, "confidence"),
        ({"metadata": "x"}, "metadata"),
        ({"metadata": {"blob": "x" * 20000}}, "metadata"),
        ({"metadata": {"huge": 2**70}}, "metadata"),
        ({"colour": "red"}, "colour"),
        ({"tag": "a\x00b"}, "tag"),
        ({"reason": "r" * 300}, "reason"),
    ],
)
def test_bad_input_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidIntent) as err:
        parse(**changes)
    assert err.value.field == field
    assert err.value.code is ErrorCode.E_INTENT_INVALID
    assert field in err.value.message


def test_a_field_given_twice_under_two_names_is_refused() -> None:
    with pytest.raises(InvalidIntent, match="given twice"):
        OrderIntent.parse({**BASE, "quantity": "5"})


def test_not_a_mapping() -> None:
    with pytest.raises(InvalidIntent):
        OrderIntent.parse(["AAPL"])  # type: ignore[arg-type]


def test_sell_brackets_are_mirrored() -> None:
    intent = parse(side="sell", sl_offset_pct="0.02", tp_offset_pct="-0.03")
    assert intent.sl_offset_pct == Decimal("0.02")


def test_expiry() -> None:
    now = datetime(2026, 1, 2, 15, tzinfo=UTC)
    intent = parse(expire_at=(now + timedelta(minutes=1)).isoformat())
    check_not_expired(intent, now)
    with pytest.raises(InvalidIntent) as err:
        check_not_expired(intent, now + timedelta(minutes=1))
    assert err.value.code is ErrorCode.E_INTENT_EXPIRED


def test_payload_hash_ignores_the_key_but_not_the_terms() -> None:
    a = parse()
    assert a.payload_hash() == parse(idempotency_key="other").payload_hash()
    assert a.payload_hash() != parse(qty="101").payload_hash()
    assert a.payload_hash() == parse(qty="100.00").payload_hash()  # same number
    assert a.payload_hash() == OrderIntent.parse({**BASE, "qty": 100}).payload_hash()


def test_floats_keep_their_decimal_text() -> None:
    assert parse_decimal(150.01, "p") == Decimal("150.01")
    assert parse_decimal(0.1, "p") + parse_decimal(0.2, "p") == Decimal("0.3")


@given(
    st.dictionaries(
        st.text(max_size=12),
        st.one_of(st.none(), st.integers(), st.text(max_size=20), st.floats(), st.booleans()),
        max_size=8,
    )
)
def test_fuzzed_input_is_either_an_intent_or_invalid(data: dict[str, Any]) -> None:
    try:
        intent = OrderIntent.parse({**BASE, **data})
    except InvalidIntent as exc:
        error: InvalidIntent | None = exc
    else:
        error = None
        assert intent.qty > 0
    if error is not None:
        assert error.code is ErrorCode.E_INTENT_INVALID
        assert error.field
        assert error.message


# ------------------------------------------------------- issue 20 item 8, 6 and 3


@pytest.mark.parametrize(
    "text", ["1_000", "\u0661\u0660", "\uff11\uff10", "1 000", "1,5", "\u00b9", "1e", ".", "+-1"]
)
def test_numbers_are_read_with_an_ascii_grammar(text: str) -> None:
    with pytest.raises(InvalidIntent) as caught:
        parse_decimal(text, "qty")
    assert caught.value.field == "qty"


@pytest.mark.parametrize(
    ("text", "value"), [(" 5 ", "5"), ("+1.50", "1.50"), (".5", "0.5"), ("2.", "2"), ("1E3", "1E3")]
)
def test_plain_ascii_numbers_still_parse(text: str, value: str) -> None:
    assert parse_decimal(text, "qty") == Decimal(value)


@pytest.mark.parametrize("char", ["\x7f", "\x80", "\x85", "\x9f", "\u202e", "\ud800", "\x00"])
@pytest.mark.parametrize("field", ["reason", "tag", "product", "decision_id"])
def test_control_characters_are_refused_in_every_text_field(field: str, char: str) -> None:
    with pytest.raises(InvalidIntent) as caught:
        parse(**{field: f"a{char}b"})
    assert caught.value.field == field


def test_control_characters_are_refused_on_direct_construction_too() -> None:
    with pytest.raises(InvalidIntent):
        OrderIntent(idempotency_key="k", symbol="AAPL", side=Side.BUY, qty=Decimal(1), tag="\x9b")
    with pytest.raises(InvalidIntent):
        OrderIntent(idempotency_key="k", symbol="AAPL\n", side=Side.BUY, qty=Decimal(1))


def test_every_character_refused_as_a_control_is_unprintable() -> None:
    """The text check skips its pattern for printable text: that is only sound while
    every character the pattern refuses is one ``str.isprintable`` calls unprintable."""
    from ordergate.domain.intent import _CONTROL

    refused = [c for c in map(chr, range(0x110000)) if _CONTROL.fullmatch(c)]
    assert len(refused) == 2124  # C0, DEL, C1, surrogates, separators, bidi controls
    assert not [c for c in refused if c.isprintable()]


@pytest.mark.parametrize("char", ["\u00a0", "\u200b", "\u3000"])
def test_unprintable_characters_the_pattern_allows_still_pass(char: str) -> None:
    assert parse(reason=f"a{char}b").reason == f"a{char}b"


def test_symbol_and_enums_are_checked_before_upper_casing() -> None:
    for changes in ({"symbol": "\u017fpy"}, {"side": "\u017fell"}, {"time_in_force": "\u0261tc"}):
        with pytest.raises(InvalidIntent):
            parse(**changes)


@pytest.mark.parametrize("depth", [9, 50, 254, 3000])
def test_metadata_depth_is_limited_without_recursion(depth: int) -> None:
    nested: Any = 1
    for _ in range(depth):
        nested = {"a": nested}
    with pytest.raises(InvalidIntent) as caught:
        parse(metadata=nested)
    assert "deeper than 8" in str(caught.value)


def test_metadata_strings_keys_and_size_are_checked() -> None:
    with pytest.raises(InvalidIntent) as caught:
        parse(metadata={"note": ["ok", "bad\x85"]})
    assert caught.value.field == "metadata.note[1]"
    with pytest.raises(InvalidIntent):
        parse(metadata={"k\x7f": 1})
    with pytest.raises(InvalidIntent):
        parse(metadata={"blob": "x" * 20_000})
    eight = {"a": {"b": {"c": {"d": {"e": {"f": {"g": [1]}}}}}}}
    assert parse(metadata=eight).metadata == eight


def test_credential_named_metadata_is_masked_at_any_depth() -> None:
    intent = parse(
        metadata={
            "API_KEY": "abc",
            "legs": [{"broker_token": "t0k", "qty": 1}],
            "auth": {"Password": "p", "user": "u"},
        }
    )
    assert intent.metadata == {
        "API_KEY": "***",
        "legs": [{"broker_token": "***", "qty": 1}],
        "auth": {"Password": "***", "user": "u"},
    }
    assert "abc" not in intent.canonical_json()


@pytest.mark.parametrize(
    "text",
    ["1", "1.", "1.5", ".5", "+2.25", "-0.000", "100.00000000", "100.000000000", "0.123456789",
     "1.000000000000", "12345.123456789", "1e-9", "1.5E-8", "5e3", " 7.00 ", "1E-11",
     "0.0000001", "0.00000000001", "-0.000000000000", "123.4560000000"],
)  # fmt: skip
@pytest.mark.parametrize("as_decimal", [False, True])
def test_the_places_read_off_the_text_decide_as_the_decimal_s_exponent(
    text: str, as_decimal: bool
) -> None:
    from ordergate.domain.money import MAX_PLACES

    exponent = Decimal(text.strip()).as_tuple().exponent
    given: str | Decimal = Decimal(text.strip()) if as_decimal else text
    assert isinstance(exponent, int)
    if exponent < -MAX_PLACES:
        with pytest.raises(InvalidIntent, match="decimal places"):
            parse_decimal(given, "qty")
    else:
        assert parse_decimal(given, "qty") == Decimal(text.strip())


def test_every_optional_field_has_one_reader() -> None:
    from ordergate.domain.intent import _FIELDS, _PARSERS, _REQUIRED_SET

    assert set(_PARSERS) == _FIELDS - _REQUIRED_SET


def test_the_first_bad_optional_field_in_the_fixed_order_is_named() -> None:
    for fields, named in (
        ({"tag": "\x00", "order_type": "nope"}, "order_type"),
        ({"metadata": 5, "limit_price": "-1", "order_type": "limit"}, "limit_price"),
        ({"reason": "\x01", "expire_at": "soon"}, "expire_at"),
        ({"universe_id": "\x02", "algo": 5, "account_id": "a\x03"}, "account_id"),
        ({"universe_id": "\x02", "algo": 5, "account_id": "a b"}, "universe_id"),
    ):
        with pytest.raises(InvalidIntent) as caught:
            parse(**fields)
        assert caught.value.field == named
