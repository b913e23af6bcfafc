"""The remembered texts (times, Decimals) are always the text of what was asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ordergate.domain import money
from ordergate.domain.money import fmt
from ordergate.domain.timestamps import iso, iso_utc

zones = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))])
times = st.datetimes(timezones=zones)


@given(st.lists(times, min_size=1, max_size=20), st.lists(st.integers(0, 19), max_size=40))
def test_iso_is_isoformat_in_any_order_of_asking(pool: list[datetime], picks: list[int]) -> None:
    for i in [*range(len(pool)), *picks]:
        ts = pool[i % len(pool)]
        assert iso(ts) == ts.isoformat()
        assert iso_utc(ts) == ts.astimezone(UTC).isoformat()


@given(st.lists(st.decimals(allow_nan=False, allow_infinity=False), max_size=50))
def test_fmt_is_the_canonical_text_even_when_remembered(values: list[Decimal]) -> None:
    for value in [*values, *values]:
        expected = "0" if value == 0 else format(value.normalize(), "f")
        assert fmt(value) == expected


def test_fmt_memory_is_bounded() -> None:
    for n in range(money._TEXTS_MAX + 10):
        fmt(Decimal(n) / 7)
    assert len(money._texts) <= money._TEXTS_MAX
