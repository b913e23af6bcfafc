"""Decimal money and quantities: parsing at the boundary, exact arithmetic inside.

Floats never enter the ledger. A float handed in from JSON or a caller is converted
through its shortest repr (``Decimal(str(x))``), so ``150.01`` stays ``150.01``.

Text is read with an explicit ASCII grammar (:data:`DECIMAL_TEXT`), not with
``Decimal(str)``, which also takes ``1_000``, Arabic-Indic (``١٠``) and full-width
(``１０``) digits: a quantity a person cannot read the same way everywhere is refused.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

from ordergate.domain.errors import InvalidIntent

ZERO = Decimal(0)
ONE = Decimal(1)
BPS = Decimal(10_000)

#: The finest precision accepted for prices and quantities (1e-10).
MAX_PLACES = 10
#: The largest magnitude accepted for a price, quantity or amount.
MAX_MAGNITUDE = Decimal("1e15")
#: What a number written as text may look like: optional sign, ASCII digits, at most
#: one point, an optional ASCII exponent. No ``_``, no other script's digits, no space
#: inside (surrounding spaces and tabs are dropped).
DECIMAL_TEXT = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?", re.ASCII
)


def parse_decimal(
    value: object,
    field: str,
    *,
    positive: bool = False,
    allow_zero: bool = True,
    places: int = MAX_PLACES,
) -> Decimal:
    """Turn user input into a Decimal or raise :class:`InvalidIntent` naming ``field``."""
    if isinstance(value, bool) or value is None:
        raise InvalidIntent(field, f"must be a number, got {value!r}")
    # the exponent where the text shows it (as_tuple builds a named tuple in Python)
    exponent: int | str | None = None
    if isinstance(value, Decimal):
        result = value
        shown = str(value)  # plain text unless an exponent is needed: its places as shown
        if "E" not in shown:
            dot = shown.find(".")
            exponent = 0 if dot < 0 else dot + 1 - len(shown)
    elif isinstance(value, int):
        result, exponent = Decimal(value), 0
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip(" \t")
        if not DECIMAL_TEXT.fullmatch(text):
            raise InvalidIntent(
                field, f"must be a number in ASCII digits such as 100 or 0.25, got {value!r}"
            )
        result = Decimal(text)  # the grammar admits only what Decimal reads exactly
        if "e" not in text and "E" not in text:  # the places, read off the text itself
            dot = text.find(".")
            exponent = 0 if dot < 0 else dot + 1 - len(text)
    else:
        raise InvalidIntent(field, f"must be a number, got {type(value).__name__}")
    if not result.is_finite():
        raise InvalidIntent(field, f"must be finite, got {value!r}")
    if abs(result) >= MAX_MAGNITUDE:
        raise InvalidIntent(field, f"is too large: {value!r}")
    if exponent is None:
        exponent = result.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise InvalidIntent(field, f"has more than {places} decimal places: {value!r}")
    if positive and result <= 0:
        raise InvalidIntent(field, f"must be greater than zero, got {value!r}")
    if not allow_zero and result == 0:
        raise InvalidIntent(field, "must not be zero")
    if result == 0:
        result = ZERO  # normalise -0
    return result


def bps_of(amount: Decimal, bps: Decimal) -> Decimal:
    """``bps`` basis points of ``amount``, exact."""
    return amount * bps / BPS


def quantize(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` to a multiple of ``step`` (banker's rounding)."""
    return (value / step).quantize(ONE, rounding=ROUND_HALF_EVEN) * step


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or value % step == 0


def fmt(value: Decimal | None) -> str | None:
    """Canonical text of a Decimal for storage and JSON (no exponent, no trailing zeros).

    Remembered for the last few thousand values (equal Decimals have one canonical
    text): an order writes its quantity and prices a dozen times, at half a
    microsecond each.
    """
    if value is None:
        return None
    text = _texts.get(value)
    if text is None:
        text = "0" if value == 0 else format(value.normalize(), "f")
        if len(_texts) >= _TEXTS_MAX:
            _texts.clear()
        _texts[value] = text
    return text


_TEXTS_MAX = 4096
_texts: dict[Decimal, str] = {}
